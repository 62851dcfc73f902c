package supervisor

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), stateFile)
	want := []record{{
		ID: "a", Host: "127.9.9.9", Address: "127.9.9.9:1234",
		Spec:    runtime.TaskSpec{ID: "a", ProcessCommand: []string{"/bin/app"}, StopTimeout: 3 * time.Second},
		Labels:  map[string]string{runtime.LabelService: "orders"},
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), State: runtime.TaskRunning,
		Containers: []container{{Name: "main", PID: 10, StartTime: 99, LogPath: "/x.log", LogOffset: 7, State: runtime.TaskRunning, Health: runtime.HealthHealthy}},
	}, {ID: "b", State: runtime.TaskExited, ExitCode: 3}}
	if err := saveState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("loadState = %+v, %v; want %+v", got, err, want)
	}
}

// TestVersionOneStateIsUpgraded: an agent of the previous version recorded one
// process per task; its tasks are adopted as tasks of one container.
func TestVersionOneStateIsUpgraded(t *testing.T) {
	got, err := decodeState("p.json", []byte(`{"version": 1, "processes": [{"id": "a", "pid": 10, "start_time": 99,
		"spec": {"ID": "a", "ProcessCommand": ["/bin/app"], "ContainerPort": 8080}, "address": "127.0.0.1:5000",
		"log_path": "/x.log", "log_offset": 7, "state": "running"}]}`))
	if err != nil || len(got) != 1 {
		t.Fatalf("decodeState = %+v, %v", got, err)
	}
	want := []container{{Name: "main", PID: 10, StartTime: 99, LogPath: "/x.log", LogOffset: 7, State: runtime.TaskRunning}}
	if r := got[0]; !reflect.DeepEqual(r.Containers, want) || r.PID != 0 || r.LogPath != "" || r.Address != "127.0.0.1:5000" {
		t.Errorf("upgraded record = %+v, want its process as container main", r)
	}
}

func TestDecodeStateErrors(t *testing.T) {
	cases := map[string]string{
		"{\"version\": 3, \"processes\": []}":   "version 3",
		"{\n\"version\": 1,\n\"processes\": 5}": "p.json:3:14",
		"[":                                     "p.json",
	}
	for data, want := range cases {
		if _, err := decodeState("p.json", []byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeState(%q) = %v, want an error containing %q", data, err, want)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1,"processes":[{"id":"a","pid":1,"state":"running"}]}`))
	f.Add([]byte("{\n  \"version\": 1,\n  \"processes\": [}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := decodeState("processes.json", data); err != nil && !strings.HasPrefix(err.Error(), "processes.json") {
			t.Errorf("error %q does not name the file", err)
		}
	})
}
