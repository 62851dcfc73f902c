package retention_test

import (
	"context"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/retention"
	"github.com/greenlight-ci/greenlight/internal/store"
)

const hour = time.Hour

// stateDir is a real state directory: SQLite file, folders, files with ages.
type stateDir struct {
	t   *testing.T
	dir string
	db  *store.DB
	now time.Time
}

func newStateDir(t *testing.T) *stateDir {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &stateDir{t: t, dir: dir, db: db, now: time.Now()}
}

// folder makes a folder (with a file in it) last changed age ago.
func (s *stateDir) folder(rel string, age time.Duration) {
	s.t.Helper()
	path := filepath.Join(s.dir, rel)
	if err := os.MkdirAll(path, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "file"), []byte("0123456789"), 0o444); err != nil {
		s.t.Fatal(err)
	}
	s.age(rel, age)
}

func (s *stateDir) age(rel string, age time.Duration) {
	at := s.now.Add(-age)
	if err := os.Chtimes(filepath.Join(s.dir, rel), at, at); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stateDir) execution(id, status string, endedAgo time.Duration) {
	s.t.Helper()
	ex := &pipeline.ExecutionRecord{ID: id, Pipeline: "p", Mode: "SUPERSEDED", Status: pipeline.Status(status),
		StartedAt: s.now.Add(-endedAgo - hour), UpdatedAt: s.now}
	if status != "InProgress" {
		ex.EndedAt = s.now.Add(-endedAgo)
	}
	err := s.db.Pipelines().Update(context.Background(), func(t pipeline.Tx) error { return t.InsertExecution(ex) })
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *stateDir) deployment(id, service string, status deploy.Status, artifact string, createdAgo time.Duration) {
	s.t.Helper()
	s.deploymentOf(deploy.KindBlueGreen, id, service, status, artifact, createdAgo)
}

func (s *stateDir) deploymentOf(kind deploy.Kind, id, service string, status deploy.Status, artifact string, createdAgo time.Duration) {
	s.t.Helper()
	d := deploy.Deployment{ID: id, Kind: kind, Status: status, Created: s.now.Add(-createdAgo),
		Revision: deploy.Revision{ArtifactDir: filepath.Join(s.dir, artifact)}}
	if status.Done() {
		d.Completed = d.Created.Add(hour)
	}
	d.Config.Service.Name = service
	// Recorded done first, so that several active ones of a service can be set up.
	d.Status = deploy.StatusSucceeded
	ds := s.db.Deployments()
	if err := ds.CreateDeployment(context.Background(), &d); err != nil {
		s.t.Fatal(err)
	}
	d.Status = status
	if err := ds.SaveDeployment(context.Background(), &d); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stateDir) event(execution, deployment string, age time.Duration) {
	s.t.Helper()
	_, err := s.db.AppendEvent(context.Background(), event.Event{Time: s.now.Add(-age), Kind: event.KindAction, ExecutionID: execution, DeploymentID: deployment})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *stateDir) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(s.dir, rel))
	return err == nil
}

func (s *stateDir) collect(dryRun bool) []retention.Item {
	s.t.Helper()
	policy := manifest.Retention{Builds: 1, Artifacts: manifest.Duration(24 * hour), Logs: manifest.Duration(24 * hour),
		Events: manifest.Duration(24 * hour), Cache: manifest.Duration(24 * hour), KeepExecutions: 1}
	c := retention.Collector{StateDir: s.dir, Policy: policy, State: retention.StoreState{DB: s.db}, DryRun: dryRun, Now: func() time.Time { return s.now }}
	items, err := c.Collect(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return items
}

const day = 24 * hour

func TestGCRemovesWhatExpiredAndKeepsWhatRunsAndDeploys(t *testing.T) {
	s := newStateDir(t)
	s.execution("old", "Succeeded", 10*day)
	s.execution("failed", "Failed", 5*day)
	s.execution("running", "InProgress", 0)
	s.execution("newest", "Succeeded", 3*day) // the newest: kept whatever its age
	for _, rel := range []string{"artifacts/old/source_output", "artifacts/old/build_output", "artifacts/old/api_v1",
		"artifacts/failed/source_output", "artifacts/failed/build_output", "artifacts/failed/api_v2",
		"artifacts/running/source_output", "artifacts/newest/build_output", "artifacts/orphan/x",
		"logs/old", "logs/running", "logs/newest"} {
		s.folder(rel, 10*day)
	}
	s.age("artifacts/orphan", 10*day) // an execution the state file does not know
	// web: production runs from old's build (d1) while failed's bakes (d2, the
	// original d1 kept warm). api: a2 replaced a1 for good.
	s.deployment("d1", "web", deploy.StatusSucceeded, "artifacts/old/build_output", 9*day)
	s.deployment("d2", "web", deploy.StatusBaking, "artifacts/failed/build_output", 4*day)
	s.deployment("a1", "api", deploy.StatusSucceeded, "artifacts/old/api_v1", 9*day)
	s.deployment("a2", "api", deploy.StatusSucceeded, "artifacts/failed/api_v2", 4*day)
	for _, id := range []string{"d1", "d2", "a1"} {
		s.folder("logs/deployments", 0)
		if err := os.WriteFile(filepath.Join(s.dir, "logs/deployments", id+".log"), []byte("steps\n"), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	s.event("old", "", 5*day)
	s.event("running", "", 5*day)
	s.event("", "d2", 5*day)
	s.event("old", "", hour)
	for _, rel := range []string{"builds/api-aaaaaaaaaaaaaaaa", "builds/api-aaaaaaaaaaaaaaaa-artifacts", "builds/api-bbbbbbbbbbbbbbbb", "builds/api-v2-cccccccccccccccc"} {
		s.folder(rel, 2*day)
	}
	s.age("builds/api-bbbbbbbbbbbbbbbb", hour)
	s.folder("cache/api/default", 5*day)
	s.folder("cache/api/key-0123", hour)
	s.folder("cache/api/.tmp-deadbeef", 2*hour)

	want := []string{
		"artifacts:artifacts/failed/source_output", "artifacts:artifacts/old/source_output", "artifacts:artifacts/old/api_v1", "artifacts:artifacts/orphan",
		"logs:logs/old", "logs:logs/deployments/a1.log", "logs:logs/deployments/d1.log",
		"build:builds/api-aaaaaaaaaaaaaaaa", "cache:cache/api/.tmp-deadbeef", "cache:cache/api/default", "events:1",
	}
	dry := s.collect(true)
	if got := describe(dry); !slices.Equal(got, sorted(want)) {
		t.Fatalf("dry run would remove:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(sorted(want), "\n"))
	}
	if !s.exists("artifacts/old/source_output") || !s.exists("builds/api-aaaaaaaaaaaaaaaa") {
		t.Fatal("the dry run removed something")
	}
	if got := describe(s.collect(false)); !slices.Equal(got, sorted(want)) {
		t.Fatalf("removed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(sorted(want), "\n"))
	}
	for _, rel := range []string{"artifacts/old/source_output", "artifacts/orphan", "logs/old", "builds/api-aaaaaaaaaaaaaaaa-artifacts", "cache/api/default"} {
		if s.exists(rel) {
			t.Errorf("%s is still there", rel)
		}
	}
	for _, rel := range []string{"artifacts/old/build_output/file", "artifacts/failed/build_output/file", "artifacts/failed/api_v2/file",
		"artifacts/running/source_output", "artifacts/newest/build_output", "logs/running", "logs/newest", "logs/deployments/d2.log",
		"builds/api-bbbbbbbbbbbbbbbb", "builds/api-v2-cccccccccccccccc", "cache/api/key-0123"} {
		if !s.exists(rel) {
			t.Errorf("%s was removed", rel)
		}
	}
	events, _ := s.db.Events(context.Background(), event.Query{})
	if len(events) != 3 {
		t.Errorf("%d events left, want 3 (the running execution's, the active deployment's, the recent one)", len(events))
	}
	if again := s.collect(false); len(again) != 0 {
		t.Errorf("a second gc removed %v", describe(again))
	}
}

// TestGCKeepsTheRevisionARollbackRestored: after a rollback, production runs
// from the original's revision again, not from the rolled-back one that the
// rollback deployment records; gc keeps the original's artifacts.
func TestGCKeepsTheRevisionARollbackRestored(t *testing.T) {
	s := newStateDir(t)
	s.execution("old", "Succeeded", 10*day)
	s.execution("bad", "Failed", 5*day)
	s.execution("newest", "Succeeded", 3*day)
	for _, rel := range []string{"artifacts/old/build_output", "artifacts/bad/build_output"} {
		s.folder(rel, 10*day)
	}
	s.deployment("d1", "web", deploy.StatusSucceeded, "artifacts/old/build_output", 9*day)
	s.deployment("d2", "web", deploy.StatusStopped, "artifacts/bad/build_output", 4*day)
	s.deploymentOf(deploy.KindRollback, "r2", "web", deploy.StatusSucceeded, "artifacts/bad/build_output", 4*day-time.Minute)
	got := describe(s.collect(true))
	if want := []string{"artifacts:artifacts/bad"}; !slices.Equal(got, want) {
		t.Fatalf("gc after a rollback would remove:\n%s\nwant:\n%s (production runs from old's build again)", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func describe(items []retention.Item) []string {
	var out []string
	for _, it := range items {
		if it.Kind == retention.KindEvents {
			out = append(out, "events:"+itoa(it.Count))
			continue
		}
		out = append(out, string(it.Kind)+":"+it.Path)
	}
	return sorted(out)
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
