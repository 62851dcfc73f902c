package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/store"
)

// SQLStore keeps deployments in greenlight's SQLite state file.
type SQLStore struct{ DB *store.DB }

var doneStatuses = []string{string(StatusSucceeded), string(StatusFailed), string(StatusStopped)}

func (s SQLStore) CreateDeployment(ctx context.Context, d *Deployment) error {
	rec, err := record(d)
	if err != nil {
		return err
	}
	return s.DB.InsertDeployment(ctx, rec, store.DeploymentQuery{NotStatus: doneStatuses}, func(active []store.DeploymentRecord) error {
		for _, a := range active {
			if a.Status != string(StatusBaking) {
				return fmt.Errorf("service %s: %w: %s is %s", d.Config.Service.Name, ErrServiceBusy, a.ID, a.Status)
			}
		}
		return nil
	})
}

func (s SQLStore) SaveDeployment(ctx context.Context, d *Deployment) error {
	rec, err := record(d)
	if err != nil {
		return err
	}
	return s.DB.UpdateDeployment(ctx, rec)
}

func (s SQLStore) CreateRollback(ctx context.Context, rolledBack, rollback *Deployment) error {
	upd, err := record(rolledBack)
	if err != nil {
		return err
	}
	ins, err := record(rollback)
	if err != nil {
		return err
	}
	return s.DB.UpdateAndInsertDeployment(ctx, upd, ins)
}

func (s SQLStore) Deployment(ctx context.Context, id string) (*Deployment, error) {
	recs, err := s.DB.Deployments(ctx, store.DeploymentQuery{ID: id})
	if err != nil {
		return nil, err
	}
	return decode(recs[0])
}

func (s SQLStore) ActiveDeployments(ctx context.Context) ([]*Deployment, error) {
	return s.list(ctx, store.DeploymentQuery{NotStatus: doneStatuses})
}

func (s SQLStore) LatestDeployments(ctx context.Context, service string, limit int) ([]*Deployment, error) {
	return s.list(ctx, store.DeploymentQuery{Service: service, Newest: true, Limit: limit})
}

// ExecutionDeployments returns the deployments a pipeline execution asked for.
func (s SQLStore) ExecutionDeployments(ctx context.Context, executionID string) ([]*Deployment, error) {
	return s.list(ctx, store.DeploymentQuery{ExecutionID: executionID})
}

func (s SQLStore) LastReleased(ctx context.Context, service string) (*Deployment, error) {
	ds, err := s.list(ctx, store.DeploymentQuery{Service: service, Newest: true, Status: []string{string(StatusBaking), string(StatusSucceeded)}, Limit: 1})
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return ds[0], nil
}

func (s SQLStore) AddCommand(ctx context.Context, deploymentID string, c Command) error {
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.DB.AddDeploymentCommand(ctx, deploymentID, b)
}

func (s SQLStore) TakeCommands(ctx context.Context, deploymentID string) ([]Command, error) {
	raw, err := s.DB.TakeDeploymentCommands(ctx, deploymentID)
	if err != nil {
		return nil, err
	}
	cmds := make([]Command, 0, len(raw))
	for _, b := range raw {
		var c Command
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("decode command for %s: %w", deploymentID, err)
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func (s SQLStore) list(ctx context.Context, q store.DeploymentQuery) ([]*Deployment, error) {
	recs, err := s.DB.Deployments(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*Deployment, 0, len(recs))
	for _, r := range recs {
		d, err := decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func record(d *Deployment) (store.DeploymentRecord, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return store.DeploymentRecord{}, fmt.Errorf("encode deployment %s: %w", d.ID, err)
	}
	return store.DeploymentRecord{
		ID: d.ID, Service: d.Config.Service.Name, Application: d.Application, Group: d.Group,
		Kind: string(d.Kind), Status: string(d.Status), ExecutionID: d.ExecutionID, Created: d.Created, Data: data,
	}, nil
}

func decode(r store.DeploymentRecord) (*Deployment, error) {
	var d Deployment
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return nil, fmt.Errorf("decode deployment %s: %w", r.ID, err)
	}
	return &d, nil
}
