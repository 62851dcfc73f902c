package supervisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Logs copies the output of the task's current run (stdout and stderr, as the
// process interleaved them) to w. With follow it keeps copying until the task
// exits (then returns nil) or ctx ends (then returns ctx.Err()).
func (s *Supervisor) Logs(ctx context.Context, id string, w io.Writer, follow bool) error {
	s.mu.Lock()
	t, ok := s.tasks[id]
	var path string
	var offset int64
	if ok {
		path, offset = t.LogPath, t.LogOffset
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("logs of task %s: %w", id, runtime.ErrNotFound)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	if !follow {
		return copyLog(w, f, id)
	}
	return s.follow(ctx, t, w, f)
}

// follow copies what the task appends to f until it exits or ctx ends. The log
// is a plain file that the process writes itself, so follow polls it.
func (s *Supervisor) follow(ctx context.Context, t *task, w io.Writer, f *os.File) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if err := copyLog(w, f, t.ID); err != nil {
			return err
		}
		select {
		case <-t.exited:
			return copyLog(w, f, t.ID) // what it wrote before exiting
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done: // closed: adopted tasks are no longer watched for exit
			return copyLog(w, f, t.ID)
		case <-tick.C:
		}
	}
}

func copyLog(w io.Writer, f *os.File, id string) error {
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	return nil
}
