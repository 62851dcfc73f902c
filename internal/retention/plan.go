package retention

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/build"
)

// plan is one collection: the policy, the clock and what must stay.
type plan struct {
	c          *Collector
	now        time.Time
	execs      map[string]Execution
	newest     map[string]bool // the policy's KeepExecutions newest executions
	inProgress []string        // executions not final
	deps       map[string]Deployment
	active     []string // deployments not done
	needed     []string // artifact folders deployments run from or may go back to
}

func newPlan(c *Collector, execs []Execution, deps []Deployment) *plan {
	p := &plan{c: c, now: c.now(), execs: map[string]Execution{}, newest: map[string]bool{}, deps: map[string]Deployment{}}
	for i, e := range execs {
		p.execs[e.ID] = e
		p.newest[e.ID] = i < c.Policy.KeepExecutions
		if !e.Final {
			p.inProgress = append(p.inProgress, e.ID)
		}
	}
	for _, d := range deps {
		p.deps[d.ID] = d
		if !d.Done {
			p.active = append(p.active, d.ID)
		}
	}
	p.needed = neededRevisions(deps)
	return p
}

// neededRevisions returns the artifact folders deployments still need. Per
// service, newest first: every deployment not done (it installs, bakes or rolls
// back), down to the newest one done and released: production runs from it, and
// while a newer one is active it is the original kept warm.
func neededRevisions(deps []Deployment) []string {
	settled := map[string]bool{}
	var out []string
	for _, d := range deps {
		if settled[d.Service] || d.ArtifactDir == "" {
			continue
		}
		if !d.Done || d.Released {
			out = append(out, filepath.Clean(d.ArtifactDir))
		}
		if d.Done && d.Released {
			settled[d.Service] = true
		}
	}
	return out
}

// olderThan reports whether t is more than keep ago; keep 0 is forever.
func (p *plan) olderThan(t time.Time, keep time.Duration) bool {
	return keep > 0 && t.Before(p.now.Add(-keep))
}

func (p *plan) artifacts() ([]Item, error) {
	return p.executionFolders(KindArtifacts, "artifacts", p.c.Policy.Artifacts.D())
}

func (p *plan) executionLogs() ([]Item, error) {
	return p.executionFolders(KindLogs, "logs", p.c.Policy.Logs.D())
}

// executionFolders removes <folder>/<execution>/ of the executions that ended
// longer than keep ago (of unknown ones: last changed), except the newest ones.
func (p *plan) executionFolders(kind Kind, folder string, keep time.Duration) ([]Item, error) {
	dir := filepath.Join(p.c.StateDir, folder)
	entries, err := readDir(dir)
	var items []Item
	errs := []error{err}
	for _, e := range entries {
		if !e.IsDir() || folder == "logs" && e.Name() == "deployments" {
			continue
		}
		if why, ok := p.executionExpired(e, keep); ok {
			got, err := p.remove(kind, filepath.Join(dir, e.Name()), why)
			items, errs = append(items, got...), append(errs, err)
		}
	}
	return items, errors.Join(errs...)
}

// executionExpired says why the folder of an execution may go.
func (p *plan) executionExpired(e fs.DirEntry, keep time.Duration) (string, bool) {
	ex, known := p.execs[e.Name()]
	switch {
	case known && (!ex.Final || p.newest[ex.ID]):
		return "", false
	case known:
		return fmt.Sprintf("execution ended %s, more than %s ago", day(ex.Ended), period(keep)), p.olderThan(ex.Ended, keep)
	}
	mod := modTime(e)
	return fmt.Sprintf("no such execution in the state file; last changed %s", day(mod)), p.olderThan(mod, keep)
}

// deploymentLogs removes logs/deployments/<id>.log of deployments done longer
// than the log retention ago.
func (p *plan) deploymentLogs() ([]Item, error) {
	keep := p.c.Policy.Logs.D()
	dir := filepath.Join(p.c.StateDir, "logs", "deployments")
	entries, err := readDir(dir)
	var items []Item
	errs := []error{err}
	for _, e := range entries {
		d, known := p.deps[strings.TrimSuffix(e.Name(), ".log")]
		at := modTime(e)
		switch {
		case known && !d.Done:
			continue
		case known:
			at = d.Created
			if !d.Completed.IsZero() {
				at = d.Completed
			}
		}
		if p.olderThan(at, keep) {
			got, err := p.remove(KindLogs, filepath.Join(dir, e.Name()), fmt.Sprintf("deployment done %s, more than %s ago", day(at), period(keep)))
			items, errs = append(items, got...), append(errs, err)
		}
	}
	return items, errors.Join(errs...)
}

// builds prunes every project's build folders to the newest Policy.Builds;
// running builds stay.
func (p *plan) builds() ([]Item, error) {
	ws := build.Workspaces{Dir: filepath.Join(p.c.StateDir, "builds")}
	all, err := ws.List("")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var items []Item
	var errs []error
	for _, b := range all {
		if seen[b.Project] {
			continue
		}
		seen[b.Project] = true
		removed, err := p.pruneProject(ws, b.Project)
		items, errs = append(items, removed...), append(errs, err)
	}
	return items, errors.Join(errs...)
}

func (p *plan) pruneProject(ws build.Workspaces, project string) ([]Item, error) {
	keep := p.c.Policy.Builds
	candidates, err := ws.Prune(project, keep, true)
	if err != nil || len(candidates) == 0 {
		return nil, err
	}
	sizes := map[string]int64{}
	for _, b := range candidates {
		for _, path := range b.Paths {
			sizes[b.Name] += build.DiskUsage(path)
		}
	}
	removed, err := ws.Prune(project, keep, p.c.DryRun)
	items := make([]Item, 0, len(removed))
	for _, b := range removed {
		items = append(items, Item{Kind: KindBuild, Path: p.rel(filepath.Join(ws.Dir, b.Name)), Bytes: sizes[b.Name],
			Reason: fmt.Sprintf("build project %s keeps its newest %d builds", project, keep)})
	}
	return items, err
}

// caches removes cache entries not used for longer than Policy.Cache, and
// leftovers of saves that never finished.
func (p *plan) caches() ([]Item, error) {
	root := filepath.Join(p.c.StateDir, "cache")
	projects, err := readDir(root)
	var items []Item
	errs := []error{err}
	for _, project := range projects {
		dir := filepath.Join(root, project.Name())
		entries, err := readDir(dir)
		errs = append(errs, err)
		for _, e := range entries {
			why, ok := p.cacheExpired(e)
			if ok {
				got, err := p.remove(KindCache, filepath.Join(dir, e.Name()), why)
				items, errs = append(items, got...), append(errs, err)
			}
		}
	}
	return items, errors.Join(errs...)
}

// unfinishedSave is how old a temporary cache folder must be to be a save that
// died, not one under way.
const unfinishedSave = time.Hour

func (p *plan) cacheExpired(e fs.DirEntry) (string, bool) {
	mod := modTime(e)
	if build.IsCacheLeftover(e.Name()) {
		return "unfinished cache save", mod.Before(p.now.Add(-unfinishedSave))
	}
	keep := p.c.Policy.Cache.D()
	return fmt.Sprintf("cache last used %s, more than %s ago", day(mod), period(keep)), p.olderThan(mod, keep)
}

// events deletes the events older than Policy.Events, except those of
// executions in progress and active deployments.
func (p *plan) events(ctx context.Context) ([]Item, error) {
	keep := p.c.Policy.Events.D()
	if keep == 0 {
		return nil, nil
	}
	before := p.now.Add(-keep)
	n, err := p.c.State.DeleteEvents(ctx, before, p.inProgress, p.active, p.c.DryRun)
	if err != nil || n == 0 {
		return nil, err
	}
	return []Item{{Kind: KindEvents, Count: n, Reason: fmt.Sprintf("events before %s, more than %s ago", day(before), period(keep))}}, nil
}
