package cli

import (
	"context"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/source"
)

// engine builds the pipeline engine with every action provider greenlight runs
// locally.
func (s *session) engine(ctx context.Context) (*pipeline.Engine, error) {
	deployments := provider.Deployments{
		Def:              s.def,
		Store:            s.deployments(),
		Driver:           s.resolveDriver,
		EnsureController: s.ensureController,
	}
	git := source.New()
	providers := map[string]pipeline.Provider{
		manifest.ProviderGit:             git,
		manifest.ProviderCodeStar:        git,
		manifest.ProviderCodeBuild:       &provider.CodeBuild{Def: s.def, Env: s.buildEnv(ctx)},
		manifest.ProviderECS:             provider.ECS{Deployments: deployments},
		manifest.ProviderCodeDeployToECS: provider.CodeDeployToECS{Deployments: deployments},
	}
	return pipeline.New(s.def, s.db.Pipelines(), pipeline.Options{StateDir: s.stateDir, Providers: providers, Logger: s.log}), nil
}

// buildEnv tells builds what greenlight runs services on: GREENLIGHT_DOCKER=1 when
// any service runs on Docker, so a buildspec builds an image only when it is used.
func (s *session) buildEnv(ctx context.Context) []string {
	for name := range s.def.Services {
		if d, err := s.resolveDriver(ctx, name); err == nil && d == manifest.DriverDocker {
			return []string{"GREENLIGHT_DOCKER=1"}
		}
	}
	return nil
}
