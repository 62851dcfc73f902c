package pipeline

import (
	"slices"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func TestDecideGate(t *testing.T) {
	waiting := func(id string, seq int64) *ExecutionRecord {
		return &ExecutionRecord{ID: id, Seq: seq, Status: StatusInProgress, Waiting: true, StageIndex: 2}
	}
	inStage := &ExecutionRecord{ID: "holder", Seq: 1, Status: StatusInProgress, StageIndex: 2}
	older, me, newer := waiting("older", 2), waiting("me", 3), waiting("newer", 4)
	elsewhere := &ExecutionRecord{ID: "elsewhere", Seq: 5, Status: StatusInProgress, Waiting: true, StageIndex: 1}
	stopping := &ExecutionRecord{ID: "stopping", Seq: 6, Status: StatusStopping, Waiting: true, StageIndex: 2}

	tests := []struct {
		name       string
		mode       string
		active     []*ExecutionRecord
		holders    []string
		enter      bool
		superseded []string
		holder     string
	}{
		{"superseded: free stage", manifest.ExecutionModeSuperseded, []*ExecutionRecord{me}, nil, true, nil, ""},
		{"superseded: locked, alone", "", []*ExecutionRecord{inStage, me}, []string{"holder"}, false, nil, "holder"},
		{"superseded: newer arrival replaces the waiting one", "", []*ExecutionRecord{inStage, older, me}, []string{"holder"}, false, []string{"older"}, "holder"},
		{"superseded: an older arrival loses to the waiting one", "", []*ExecutionRecord{inStage, me, newer}, []string{"holder"}, false, []string{"me"}, "holder"},
		{"superseded: waiters elsewhere or stopping do not count", "", []*ExecutionRecord{me, elsewhere, stopping}, nil, true, nil, ""},
		{"superseded: a finished holder does not lock", "", []*ExecutionRecord{me}, []string{"gone"}, true, nil, ""},
		{"queued: older waiter goes first", manifest.ExecutionModeQueued, []*ExecutionRecord{older, me}, nil, false, nil, ""},
		{"queued: first in line enters a free stage", manifest.ExecutionModeQueued, []*ExecutionRecord{me, newer}, nil, true, nil, ""},
		{"queued: first in line waits for the holder", manifest.ExecutionModeQueued, []*ExecutionRecord{inStage, me}, []string{"holder"}, false, nil, "holder"},
		{"parallel: never waits", manifest.ExecutionModeParallel, []*ExecutionRecord{inStage, older, me}, []string{"holder"}, true, nil, ""},
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
