package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// StoreState is the State of greenlight's SQLite state file.
type StoreState struct{ DB *store.DB }

// Executions lists every execution with whether and when it ended.
func (s StoreState) Executions(ctx context.Context) ([]Execution, error) {
	var out []Execution
	err := s.DB.Pipelines().View(ctx, func(t pipeline.Tx) error {
		list, err := t.ListExecutions("", 0, 0)
		out = make([]Execution, 0, len(list))
		for _, e := range list {
			out = append(out, Execution{ID: e.ID, Final: e.Status.Final(), Ended: e.EndedAt})
		}
		return err
	})
	return out, err
}

// Deployments lists every deployment with the artifact directory it runs from.
func (s StoreState) Deployments(ctx context.Context) ([]Deployment, error) {
	ds, err := s.DB.Deployments().LatestDeployments(ctx, "", 0)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	out := make([]Deployment, 0, len(ds))
	for _, d := range ds {
		// A rollback records the revision it took out of production: production
		// runs from the original again, whose deployment comes further down.
		released := d.Status.Released() && d.Kind != deploy.KindRollback
		out = append(out, Deployment{ID: d.ID, Service: d.Config.Service.Name, Done: d.Status.Done(), Released: released,
			ArtifactDir: d.Revision.ArtifactDir, Created: d.Created, Completed: d.Completed})
	}
	return out, nil
}

// DeleteEvents removes events older than before, but those of the kept executions
// and deployments.
func (s StoreState) DeleteEvents(ctx context.Context, before time.Time, keepExecutions, keepDeployments []string, dryRun bool) (int64, error) {
	return s.DB.DeleteEventsBefore(ctx, before, keepExecutions, keepDeployments, dryRun)
}
