package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// artifactDir is where an execution's artifact lives:
// <StateDir>/artifacts/<execution>/<artifact>/.
func (e *Engine) artifactDir(id, name string) string {
	return filepath.Join(e.opts.StateDir, "artifacts", id, name)
}

// logPath is an action's log: <StateDir>/logs/<execution>/<stage>.<action>.log.
func (e *Engine) logPath(id, stage, action string) string {
	return filepath.Join(e.opts.StateDir, "logs", id, stage+"."+action+".log")
}

// prepareOutputs makes the action's output directories. fresh ones are emptied
// first: an artifact is produced again only by a retry (or by an attempt that
// restarts from scratch), which must not see what an earlier attempt left.
func (e *Engine) prepareOutputs(id string, def *manifest.Action, fresh bool) ([]Artifact, error) {
	out := make([]Artifact, 0, len(def.OutputArtifacts))
	for _, name := range def.OutputArtifacts {
		dir := e.artifactDir(id, name)
		if fresh {
			if err := removeSealed(dir); err != nil {
				return nil, fmt.Errorf("clear output artifact %s: %w", name, err)
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create output artifact %s: %w", name, err)
		}
		out = append(out, Artifact{Name: name, Dir: dir})
	}
	return out, nil
}

// seal makes an artifact read-only for everyone (chmod -R a-w): once recorded, an
// artifact is never modified.
func seal(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // Linux has no lchmod; the target is sealed where it lives
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(path, info.Mode().Perm()&^0o222)
	})
}

// removeSealed removes an artifact directory, sealed or not.
func removeSealed(dir string) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(path, 0o755)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(dir)
}

// lockedWriter serializes writes: a provider may log from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// openLog opens the action's log file for appending (attempts follow each other in
// one file), mirrored to Options.LogOutput when set.
func (e *Engine) openLog(ctx context.Context, a *attempt) (*lockedWriter, func(), error) {
	path := a.row.LogPath
	// An action's log shows what its commands printed: private, as the state
	// directory is.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("create log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open action log: %w", err)
	}
	var w io.Writer = f
	if e.opts.LogOutput != nil {
		if live := e.opts.LogOutput(a.stage.Name, a.def.Name); live != nil {
			w = io.MultiWriter(f, live)
		}
	}
	how := "started"
	if a.resumed {
		how = "resumed"
	}
	lw := &lockedWriter{w: w}
	fmt.Fprintf(lw, "==> %s/%s attempt %d %s at %s\n", a.stage.Name, a.def.Name, a.row.Attempt, how, e.now().UTC().Format("2006-01-02T15:04:05Z"))
	closeLog := func() {
		if err := f.Close(); err != nil {
			e.log.ErrorContext(ctx, "close action log", "path", path, "err", err)
		}
	}
	return lw, closeLog, nil
}
