package pipeline

import (
	"fmt"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Wait says why an execution waits in front of a stage: another execution
// holds the stage (one execution per stage at a time), or, in QUEUED mode, an
// older execution waits there first.
type Wait struct {
	Stage  string `json:"stage"`
	HeldBy string `json:"held_by,omitempty"` // the execution in the stage
	Ahead  string `json:"ahead,omitempty"`   // QUEUED: the older execution that goes first
	Reason string `json:"reason"`            // the above in words
}

// waitOf says why ex waits, from the state t reads now (the gate rule, applied
// without changing anything); nil when ex does not wait in front of a stage.
func (e *Engine) waitOf(t Tx, ex *ExecutionRecord) (*Wait, error) {
	if !ex.Waiting || ex.Status != StatusInProgress || ex.StageIndex >= len(e.stages()) {
		return nil, nil
	}
	stage := e.stages()[ex.StageIndex].Name
	active, err := t.ExecutionsWithStatus(e.name(), StatusInProgress, StatusStopping)
	if err != nil {
		return nil, fmt.Errorf("why %s waits: %w", ex.ID, err)
	}
	runs, err := t.StageRunsWithStatus(e.name(), stage, StatusInProgress)
	if err != nil {
		return nil, fmt.Errorf("why %s waits: %w", ex.ID, err)
	}
	holders := make([]string, 0, len(runs))
	for _, r := range runs {
		holders = append(holders, r.ExecutionID)
	}
	d := decideGate(gateInput{mode: e.mode(), me: ex, active: active, holders: holders})
	w := &Wait{Stage: stage, HeldBy: d.holder}
	if e.mode() == manifest.ExecutionModeQueued {
		w.Ahead = oldestAhead(ex, active)
	}
	w.Reason = w.reason()
	return w, nil
}

// oldestAhead is the oldest execution waiting at ex's gate before ex.
func oldestAhead(ex *ExecutionRecord, active []*ExecutionRecord) string {
	var first *ExecutionRecord
	for _, o := range active {
		if o.ID != ex.ID && o.Waiting && o.StageIndex == ex.StageIndex && o.Status == StatusInProgress && o.Seq < ex.Seq &&
			(first == nil || o.Seq < first.Seq) {
			first = o
		}
	}
	if first == nil {
		return ""
	}
	return first.ID
}

func (w *Wait) reason() string {
	switch {
	case w.HeldBy != "" && w.Ahead != "":
		return fmt.Sprintf("waiting for stage %s, held by execution %s; execution %s goes first", w.Stage, w.HeldBy, w.Ahead)
	case w.HeldBy != "":
		return fmt.Sprintf("waiting for stage %s, held by execution %s", w.Stage, w.HeldBy)
	case w.Ahead != "":
		return fmt.Sprintf("waiting for stage %s: execution %s goes first", w.Stage, w.Ahead)
	}
	return fmt.Sprintf("waiting to enter stage %s", w.Stage)
}
