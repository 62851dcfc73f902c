package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/statedir"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// session is what a command that touches local state works with: the definition
// (when it needs one), the state directory and its SQLite file, the background
// processes of the directory, and the control surface on all of it.
type session struct {
	def      *manifest.Definition
	stateDir string
	db       *store.DB
	log      *slog.Logger
	site     *daemon.Site
	backend  *local.Backend
}

// open loads what a command needs: withDef loads and validates greenlight.yaml.
func (a *app) open(ctx context.Context, withDef bool) (*session, error) {
	s := &session{log: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if withDef {
		def, err := manifest.Load(a.file)
		if err != nil {
			return nil, err
		}
		s.def = def
	}
	dir, err := a.stateDirectory()
	if err != nil {
		return nil, err
	}
	s.stateDir = dir
	if err := createStateDir(dir, s.log); err != nil {
		return nil, err
	}
	s.db, err = store.Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		return nil, err
	}
	s.site = daemon.NewSite(dir, s.log)
	s.backend = local.New(local.Options{Definition: s.def, StateDir: dir, DB: s.db, Site: s.site, Logger: s.log})
	return s, nil
}

// withBackend runs fn on the control surface: a server's (--server), AWS's
// (--backend aws) or the state directory's; every verb that reads or drives
// pipelines and deployments goes through it.
func (a *app) withBackend(ctx context.Context, withDef bool, fn func(b control.Backend) error) error {
	if b, ok, err := a.openRemote(); ok {
		if err != nil {
			return err
		}
		defer b.Close()
		return fn(b)
	}
	if b, ok, err := a.openAWS(ctx); ok {
		if err != nil {
			return err
		}
		defer b.Close()
		return fn(b)
	}
	s, err := a.open(ctx, withDef)
	if err != nil {
		return err
	}
	defer s.close()
	return fn(s.backend)
}

// createStateDir makes the state directory, private to this user, with a
// .gitignore that ignores all of it: it lives beside greenlight.yaml, in the
// repository, and holds the agent's token, builds and artifacts, none of which
// may end up in a commit or be read by another user. A directory made before
// it was private (0755) is tightened, and log says so (once: then it is).
func createStateDir(dir string, log *slog.Logger) error {
	opened, err := statedir.Ensure(dir)
	if err != nil {
		return err
	}
	if opened != 0 {
		log.Warn(fmt.Sprintf("the state directory was open to other users (%#o); it is now %#o, private to you", opened, statedir.Perm), "dir", dir)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); os.IsNotExist(err) {
		if err := os.WriteFile(ignore, []byte("# greenlight state: never commit it\n*\n"), 0o644); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
	}
	return nil
}

// close ends what the session drives (executions stay recorded for a resume) and
// closes the state file.
func (s *session) close() {
	if s.backend != nil {
		_ = s.backend.Close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
}
