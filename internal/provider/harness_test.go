package provider_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/source"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// repo is a real git repository holding greenlight.yaml and the files a test
// writes, with a state directory and an engine running its pipeline with the
// real Git and CodeBuild providers.
type repo struct {
	t        *testing.T
	dir      string
	stateDir string
	db       *store.DB
	live     *lockedBuffer // what `greenlight run` would print live
}

func newRepo(t *testing.T, files map[string]string) *repo {
	t.Helper()
	r := &repo{t: t, dir: filepath.Join(t.TempDir(), "app"), live: &lockedBuffer{}}
	r.stateDir = filepath.Join(r.dir, ".greenlight")
	r.write(files)
	r.write(map[string]string{".gitignore": ".greenlight/\n"})
	r.git("init", "-q", "-b", "main")
	r.git("add", "-A")
	r.git("-c", "user.name=t", "-c", "user.email=t@greenlight.local", "commit", "-q", "-m", "app")
	db, err := store.Open(context.Background(), filepath.Join(r.stateDir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r.db = db
	return r
}

func (r *repo) write(files map[string]string) {
	r.t.Helper()
	for name, body := range files {
		path := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *repo) git(args ...string) {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// engine loads greenlight.yaml (validated, as `greenlight run` does) into an
// engine with the providers `greenlight run` uses for source and builds.
func (r *repo) engine() *pipeline.Engine {
	r.t.Helper()
	def, err := manifest.Load(filepath.Join(r.dir, "greenlight.yaml"))
	if err != nil {
		r.t.Fatal(err)
	}
	git := source.New()
	return pipeline.New(def, r.db.Pipelines(), pipeline.Options{
		StateDir:  r.stateDir,
		Providers: map[string]pipeline.Provider{manifest.ProviderGit: git, manifest.ProviderCodeBuild: &provider.CodeBuild{Def: def}},
		LogOutput: func(_, _ string) io.Writer { return r.live },
	})
}

// run runs one execution to its end and returns its view.
func (r *repo) run() *pipeline.ExecutionView {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng := r.engine()
	id, err := eng.Start(ctx, pipeline.StartRequest{})
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := eng.Run(ctx, id); err != nil {
		r.t.Fatalf("run %s: %v", id, err)
	}
	v, err := eng.Execution(ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

// action returns the view of stage/action in v.
// actionLog reads the log of an action of the execution v.
func (r *repo) actionLog(t *testing.T, v *pipeline.ExecutionView, stage, name string) []byte {
	t.Helper()
	path, err := r.engine().LogPath(context.Background(), v.ID, stage, name)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func action(t *testing.T, v *pipeline.ExecutionView, stage, name string) pipeline.ActionView {
	t.Helper()
	for _, s := range v.Stages {
		for _, a := range s.Actions {
			if s.Name == stage && a.Name == name {
				return a
			}
		}
	}
	t.Fatalf("no action %s/%s in execution %s", stage, name, v.ID)
	return pipeline.ActionView{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
