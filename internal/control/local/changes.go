package local

import (
	"context"
	"fmt"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/source"
)

// maxChanges bounds the commits ChangesSinceProduction lists.
const maxChanges = 50

// ChangesSinceProduction lists, from the repository the execution's source
// action read, the commits between what production runs (the newest released
// blue-green deployment of the pipeline's production service that was not
// rolled back) and the execution's revision.
func (b *Backend) ChangesSinceProduction(ctx context.Context, executionID string) (control.ChangeSet, error) {
	v, err := b.GetExecution(ctx, executionID)
	if err != nil {
		return control.ChangeSet{}, err
	}
	repo, subdir := sourceRepository(v)
	set := control.ChangeSet{Revision: v.Source.CommitID, Commits: []control.Commit{}}
	if set.Revision == "" || repo == "" {
		return set, nil // the source action has not run yet
	}
	if set.Production, err = b.productionCommit(ctx); err != nil {
		return control.ChangeSet{}, err
	}
	commits, err := source.New().Log(ctx, source.History{StateDir: b.opts.StateDir, Repository: repo, Subdirectory: subdir,
		From: set.Production, To: set.Revision, Limit: maxChanges + 1})
	if err != nil {
		return control.ChangeSet{}, control.Errorf(control.CodeUnavailable, "changes of %s: %v", executionID, err)
	}
	set.Truncated = len(commits) > maxChanges
	for _, c := range commits[:min(len(commits), maxChanges)] {
		set.Commits = append(set.Commits, control.Commit{ID: c.ID, Author: c.Author, Time: c.Time, Subject: c.Subject})
	}
	return set, nil
}

// sourceRepository is where the execution's first source action read its
// revision from, as it recorded it.
func sourceRepository(v *control.Execution) (repo, subdir string) {
	for _, st := range v.Stages {
		for _, a := range st.Actions {
			if a.Category == manifest.CategorySource && a.Data != nil {
				repo, _ = a.Data["repository"].(string)
				subdir, _ = a.Data["subdirectory"].(string)
				return repo, subdir
			}
		}
	}
	return "", ""
}

// productionCommit is the commit the pipeline's blue-green production runs
// ("" when none was released).
func (b *Backend) productionCommit(ctx context.Context) (string, error) {
	service := b.productionService()
	if service == "" {
		return "", nil
	}
	ds, err := b.deployStore().LatestDeployments(ctx, service, defaultLimit)
	if err != nil {
		return "", wrap(err)
	}
	for _, d := range ds {
		if d.Kind != control.KindRollback && d.Status.Released() && d.RolledBackBy == "" {
			return d.Revision.CommitID, nil
		}
	}
	if len(ds) == defaultLimit {
		return "", fmt.Errorf("production of %s: no released deployment among the newest %d", service, defaultLimit)
	}
	return "", nil
}

// productionService is the service of the pipeline's last CodeDeployToECS
// action ("" when it has none).
func (b *Backend) productionService() string {
	def := b.opts.Definition
	service := ""
	for _, st := range def.Pipeline.Stages {
		for _, a := range st.Actions {
			if a.Provider != manifest.ProviderCodeDeployToECS {
				continue
			}
			if g, ok := def.DeploymentGroup(a.Configuration["ApplicationName"], a.Configuration["DeploymentGroupName"]); ok {
				service = g.Service
			}
		}
	}
	return service
}
