package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

const (
	stateFile    = "processes.json"
	stateVersion = 2                // 1: one process per task, at the record's top level
	lockFile     = "processes.lock" // flocked by the supervisor that owns the dir
)

// record is what processes.json keeps of one task: enough to find its processes
// again after the agent restarts, and to tell each from a later process that
// reused its pid.
type record struct {
	ID       string            `json:"id"`
	Spec     runtime.TaskSpec  `json:"spec"`
	Host     string            `json:"host,omitempty"` // the task's own loopback address
	Address  string            `json:"address"`
	Labels   map[string]string `json:"labels,omitempty"`
	Started  time.Time         `json:"started"`
	State    runtime.TaskState `json:"state"`
	ExitCode int               `json:"exit_code,omitempty"`
	Error    string            `json:"error,omitempty"`
	// Containers are the task's processes, in the order they started.
	Containers []container `json:"containers,omitempty"`

	// A version 1 record's one process; read, then moved into Containers.
	PID       int    `json:"pid,omitempty"`
	StartTime uint64 `json:"start_time,omitempty"`
	LogPath   string `json:"log_path,omitempty"`
	LogOffset int64  `json:"log_offset,omitempty"`
}

// container is one process of a task.
type container struct {
	Name      string            `json:"name"`
	PID       int               `json:"pid"`
	StartTime uint64            `json:"start_time"` // field 22 of /proc/<pid>/stat
	LogPath   string            `json:"log_path"`
	LogOffset int64             `json:"log_offset"` // where this run's output begins in LogPath
	State     runtime.TaskState `json:"state"`
	ExitCode  int               `json:"exit_code,omitempty"`
	Error     string            `json:"error,omitempty"`
	Health    runtime.Health    `json:"health,omitempty"`
}

func (r record) task() runtime.Task {
	t := runtime.Task{
		ID:       r.ID,
		Address:  r.Address,
		State:    r.State,
		ExitCode: r.ExitCode,
		Error:    r.Error,
		Labels:   r.Labels,
		Started:  r.Started,
	}
	for _, c := range r.Containers {
		t.Containers = append(t.Containers, runtime.ContainerState{Name: c.Name, State: c.State, ExitCode: c.ExitCode, Error: c.Error, Health: c.Health})
	}
	t.Health = runtime.TaskHealth(r.Spec.ContainerSpecs(), t.Containers)
	return t
}

// upgrade moves a version 1 record's process into Containers.
func (r *record) upgrade() {
	if len(r.Containers) > 0 || r.PID == 0 {
		return
	}
	r.Containers = []container{{Name: r.Spec.ContainerSpecs()[0].Name, PID: r.PID, StartTime: r.StartTime, LogPath: r.LogPath,
		LogOffset: r.LogOffset, State: r.State, ExitCode: r.ExitCode, Error: r.Error}}
	r.PID, r.StartTime, r.LogPath, r.LogOffset = 0, 0, "", 0
}

type stateDoc struct {
	Version   int      `json:"version"`
	Processes []record `json:"processes"`
}

// loadState reads the records of path; a missing file is an empty state.
func loadState(path string) ([]record, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read process state: %w", err)
	}
	return decodeState(path, data)
}

// decodeState parses the content of the state file at path.
func decodeState(path string, data []byte) ([]record, error) {
	var doc stateDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonErrorPosition(path, data, err), err)
	}
	if doc.Version != 1 && doc.Version != stateVersion {
		return nil, fmt.Errorf("%s: version %d, this supervisor reads versions 1 and %d", path, doc.Version, stateVersion)
	}
	for i := range doc.Processes {
		doc.Processes[i].upgrade()
	}
	return doc.Processes, nil
}

// jsonErrorPosition names the file:line:column where a decoding error occurred.
func jsonErrorPosition(path string, data []byte, err error) string {
	var offset int64 = -1
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typeErr):
		offset = typeErr.Offset
	}
	if offset <= 0 || offset > int64(len(data)) {
		return path
	}
	before := data[:offset-1] // Offset counts the offending byte
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Sprintf("%s:%d:%d", path, line, col)
}

// saveState writes the records to path atomically: a temp file in the same
// directory, fsynced, renamed over path, and the directory fsynced so that the
// rename survives a crash.
func saveState(path string, records []record) error {
	records = slices.Clone(records)
	slices.SortFunc(records, func(a, b record) int { return strings.Compare(a.ID, b.ID) })
	data, err := json.MarshalIndent(stateDoc{Version: stateVersion, Processes: records}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode process state: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write process state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write process state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync process state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close process state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace process state: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync state dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state dir: %w", err)
	}
	return nil
}
