package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// StoreState is the State of greenlight's SQLite state file.
type StoreState struct{ DB *store.DB }

func (s StoreState) Executions(ctx context.Context) ([]Execution, error) {
	var out []Execution
	err := s.DB.PipelineRead(ctx, func(t *store.PipelineTx) error {
		list, err := t.RecentExecutions("", 0)
		out = make([]Execution, 0, len(list))
		for _, e := range list {
			out = append(out, Execution{ID: e.ID, Final: pipeline.Status(e.Status).Final(), Ended: e.EndedAt})
		}
		return err
	})
	return out, err
}

func (s StoreState) Deployments(ctx context.Context) ([]Deployment, error) {
	recs, err := s.DB.Deployments(ctx, store.DeploymentQuery{Newest: true})
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	out := make([]Deployment, 0, len(recs))
	for _, rec := range recs {
		var d deploy.Deployment
		if err := json.Unmarshal(rec.Data, &d); err != nil {
			return nil, fmt.Errorf("read deployment %s: %w", rec.ID, err)
		}
		out = append(out, Deployment{ID: rec.ID, Service: rec.Service, Done: d.Status.Done(), Released: d.Status.Released(),
			ArtifactDir: d.Revision.ArtifactDir, Created: d.Created, Completed: d.Completed})
	}
	return out, nil
}

func (s StoreState) DeleteEvents(ctx context.Context, before time.Time, keepExecutions, keepDeployments []string, dryRun bool) (int64, error) {
	return s.DB.DeleteEventsBefore(ctx, before, keepExecutions, keepDeployments, dryRun)
}
