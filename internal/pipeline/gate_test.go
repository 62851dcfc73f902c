package pipeline

import (
	"os"
	"slices"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func TestDecideGate(t *testing.T) {
	waiting := func(id string, seq int64) *store.PipelineExecution {
		return &store.PipelineExecution{ID: id, Seq: seq, Status: string(StatusInProgress), Waiting: true, StageIndex: 2}
	}
	inStage := &store.PipelineExecution{ID: "holder", Seq: 1, Status: string(StatusInProgress), StageIndex: 2}
	older, me, newer := waiting("older", 2), waiting("me", 3), waiting("newer", 4)
	elsewhere := &store.PipelineExecution{ID: "elsewhere", Seq: 5, Status: string(StatusInProgress), Waiting: true, StageIndex: 1}
	stopping := &store.PipelineExecution{ID: "stopping", Seq: 6, Status: string(StatusStopping), Waiting: true, StageIndex: 2}

	tests := []struct {
		name       string
		mode       string
		active     []*store.PipelineExecution
		holders    []string
		enter      bool
		superseded []string
		holder     string
	}{
		{"superseded: free stage", manifest.ExecutionModeSuperseded, []*store.PipelineExecution{me}, nil, true, nil, ""},
		{"superseded: locked, alone", "", []*store.PipelineExecution{inStage, me}, []string{"holder"}, false, nil, "holder"},
		{"superseded: newer arrival replaces the waiting one", "", []*store.PipelineExecution{inStage, older, me}, []string{"holder"}, false, []string{"older"}, "holder"},
		{"superseded: an older arrival loses to the waiting one", "", []*store.PipelineExecution{inStage, me, newer}, []string{"holder"}, false, []string{"me"}, "holder"},
		{"superseded: waiters elsewhere or stopping do not count", "", []*store.PipelineExecution{me, elsewhere, stopping}, nil, true, nil, ""},
		{"superseded: a finished holder does not lock", "", []*store.PipelineExecution{me}, []string{"gone"}, true, nil, ""},
		{"queued: older waiter goes first", manifest.ExecutionModeQueued, []*store.PipelineExecution{older, me}, nil, false, nil, ""},
		{"queued: first in line enters a free stage", manifest.ExecutionModeQueued, []*store.PipelineExecution{me, newer}, nil, true, nil, ""},
		{"queued: first in line waits for the holder", manifest.ExecutionModeQueued, []*store.PipelineExecution{inStage, me}, []string{"holder"}, false, nil, "holder"},
		{"parallel: never waits", manifest.ExecutionModeParallel, []*store.PipelineExecution{inStage, older, me}, []string{"holder"}, true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideGate(gateInput{mode: tt.mode, me: me, active: tt.active, holders: tt.holders})
			var superseded []string
			for _, ex := range d.supersede {
				superseded = append(superseded, ex.ID)
			}
			if d.enter != tt.enter || !slices.Equal(superseded, tt.superseded) || d.holder != tt.holder {
				t.Fatalf("got enter=%v superseded=%v holder=%q; want enter=%v superseded=%v holder=%q",
					d.enter, superseded, d.holder, tt.enter, tt.superseded, tt.holder)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	start, state, err := parseProcStat([]byte("4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100 18446744073709551615"))
	if err != nil || start != 987654 || state != 'S' {
		t.Fatalf("got %d %c %v", start, state, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 notanumber"} {
		if _, _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
	self, _, err := procStat(os.Getpid())
	if err != nil || self == 0 {
		t.Fatalf("own start time: %d, %v", self, err)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100"))
	f.Add([]byte("1 (init) Z"))
	f.Add([]byte(")"))
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		start, state, err := parseProcStat(b)
		if err != nil {
			return
		}
		// What parsed must re-parse the same once the name is replaced.
		again, state2, err := parseProcStat(append([]byte("1 (x)"), b[lastParen(b)+1:]...))
		if err != nil || again != start || state2 != state {
			t.Fatalf("reparse: %d %c %v, first %d %c", again, state2, err, start, state)
		}
	})
}

func lastParen(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i
		}
	}
	return -1
}
