package supervisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Logs copies the output of the task's current run (stdout and stderr, as each
// process interleaved them) to w; a task of several containers has each line
// prefixed with its container's name. With follow it keeps copying until the
// task exits (then returns nil) or ctx ends (then returns ctx.Err()).
func (s *Supervisor) Logs(ctx context.Context, id string, w io.Writer, follow bool) error {
	s.mu.Lock()
	t, ok := s.tasks[id]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("logs of task %s: %w", id, runtime.ErrNotFound)
	}
	r := &logReader{s: s, t: t, w: w, files: map[string]*os.File{}, prefixed: map[string]io.Writer{}}
	defer r.close()
	if !follow {
		return r.copyAll()
	}
	return r.follow(ctx)
}

// logReader copies the log files of a task's containers, opening each as its
// container appears.
type logReader struct {
	s        *Supervisor
	t        *task
	w        io.Writer
	files    map[string]*os.File
	prefixed map[string]io.Writer
}

// follow copies what the processes append until the task exits or ctx ends. The
// logs are plain files the processes write themselves, so follow polls them.
func (r *logReader) follow(ctx context.Context) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if err := r.copyAll(); err != nil {
			return err
		}
		select {
		case <-r.t.exited:
			return r.copyAll() // what they wrote before exiting
		case <-ctx.Done():
			return ctx.Err()
		case <-r.s.done: // closed: adopted tasks are no longer watched for exit
			return r.copyAll()
		case <-tick.C:
		}
	}
}

// copyAll copies what each container's log has that was not copied yet.
func (r *logReader) copyAll() error {
	r.s.mu.Lock()
	containers := append([]container(nil), r.t.Containers...)
	several := len(r.t.Spec.ContainerSpecs()) > 1
	r.s.mu.Unlock()
	for _, c := range containers {
		f, err := r.open(c)
		if err != nil {
			return err
		}
		w := r.w
		if several {
			w = r.prefixedWriter(c.Name)
		}
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("logs of task %s: %w", r.t.ID, err)
		}
	}
	return nil
}

func (r *logReader) open(c container) (*os.File, error) {
	if f, ok := r.files[c.Name]; ok {
		return f, nil
	}
	f, err := os.Open(c.LogPath)
	if err != nil {
		return nil, fmt.Errorf("logs of task %s: %w", r.t.ID, err)
	}
	if _, err := f.Seek(c.LogOffset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("logs of task %s: %w", r.t.ID, err)
	}
	r.files[c.Name] = f
	return f, nil
}

func (r *logReader) prefixedWriter(name string) io.Writer {
	if p, ok := r.prefixed[name]; ok {
		return p
	}
	p := runtime.PrefixLines(r.w, name)
	r.prefixed[name] = p
	return p
}

func (r *logReader) close() {
	for _, f := range r.files {
		f.Close()
	}
}
