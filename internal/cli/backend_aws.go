package cli

import (
	"cmp"
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/greenlight-ci/greenlight/internal/control"
	awsbackend "github.com/greenlight-ci/greenlight/internal/control/aws"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Backends a command can drive.
const (
	backendLocal = "local"
	backendAWS   = "aws"
)

// openAWS opens the AWS backend when --backend (or GREENLIGHT_BACKEND) selects
// it; ok is false for the local one. The pipeline, deployment groups and alarms
// are named as greenlight.yaml names them (deploy/aws creates them so); region,
// credentials and retries come from the SDK's standard settings (AWS_PROFILE,
// AWS_REGION, AWS_MAX_ATTEMPTS, ...).
func (a *app) openAWS(ctx context.Context) (b control.Backend, ok bool, err error) {
	switch name := cmp.Or(a.backend, os.Getenv("GREENLIGHT_BACKEND"), backendLocal); name {
	case backendLocal:
		return nil, false, nil
	case backendAWS:
	default:
		return nil, true, fmt.Errorf("--backend %q: want %s or %s", name, backendLocal, backendAWS)
	}
	def, err := manifest.Load(a.file)
	if err != nil {
		return nil, true, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, true, fmt.Errorf("AWS configuration (AWS_PROFILE, AWS_REGION, ~/.aws/config): %w", err)
	}
	return awsbackend.New(awsbackend.OptionsFor(def, cfg)), true, nil
}
