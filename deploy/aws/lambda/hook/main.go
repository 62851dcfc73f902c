// Command hook is the CodeDeploy lifecycle-hook Lambda function of deploy/aws
// (provided.al2023, arm64): it runs the hook's command from greenlight.yaml and
// reports the result to CodeDeploy (see internal/awshook). Build it with
// `go run ./deploy/aws/lambda/build`.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/greenlight-ci/greenlight/internal/awshook"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("hook function cannot start", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, err := awshook.FromEnvironment(os.Getenv, os.Environ(), os.Getenv("LAMBDA_TASK_ROOT"))
	if err != nil {
		return err
	}
	cfg.Output = os.Stderr
	aws, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return err
	}
	h := &awshook.Handler{Config: cfg, CodeDeploy: codedeploy.NewFromConfig(aws), ECS: ecs.NewFromConfig(aws), Logger: logger}
	lambda.Start(h.Handle)
	return nil
}
