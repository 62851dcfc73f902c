package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// processWait is how long the engine waits for a killed process group to be
// gone (SIGKILLed processes end at once unless stuck in the kernel).
const processWait = 30 * time.Second

// ErrProcessesLinger means the processes an earlier attempt left running could
// not be stopped: the action is not started again beside them.
var ErrProcessesLinger = errors.New("the previous attempt's processes could not be stopped")

// reapProcesses kills what is left of the process groups recorded on an attempt
// whose process died, and waits until it is gone, so that nothing of the old
// attempt runs beside the new one (a silent command, a test server holding a
// port). It returns what it did, for the action's event ("" when nothing was
// left). Groups recorded on another host cannot be reached from here, nor
// groups without a process table: they are reported, never guessed at.
func (e *Engine) reapProcesses(ctx context.Context, groups []ProcessGroup) (string, error) {
	var done []string
	for _, g := range groups {
		switch {
		case g.Host != e.self.host:
			done = append(done, fmt.Sprintf("process group %d runs on %s: not stopped from %s", g.PGID, g.Host, e.self.host))
			continue
		case e.self.processes == nil:
			done = append(done, fmt.Sprintf("process group %d: no process table here to stop it with", g.PGID))
			continue
		}
		wait, cancel := context.WithTimeout(ctx, processWait)
		n, err := e.self.processes.KillGroup(wait, g.PGID, g.Start, g.Env)
		cancel()
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrProcessesLinger, err)
		}
		if n > 0 {
			done = append(done, fmt.Sprintf("killed %d process(es) the previous attempt left running (process group %d)", n, g.PGID))
		}
	}
	return strings.Join(done, "; "), nil
}

// reapAbandoned kills what attempts given up after a crash left running; it
// logs what it cannot do, as the attempts already ended.
func (e *Engine) reapAbandoned(ctx context.Context, rows []*ActionRecord) {
	for _, row := range rows {
		did, err := e.reapProcesses(ctx, row.Processes)
		log := e.log.With("execution", row.ExecutionID, "stage", row.Stage, "action", row.Action, "attempt", row.Attempt)
		if err != nil {
			log.Error("stop the processes of an abandoned attempt", "err", err)
		} else if did != "" {
			log.Info("abandoned attempt: " + did)
		}
	}
}

// processRecorder is ActionRun.RecordProcessGroup for one attempt.
type processRecorder struct {
	mu sync.Mutex
	r  *run
	a  *attempt
}

func (p *processRecorder) record(g ProcessGroup) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	g.Host = p.r.e.self.host
	groups := append(p.a.row.Processes[:len(p.a.row.Processes):len(p.a.row.Processes)], g)
	stage, action, attempt := p.a.stage.Name, p.a.def.Name, p.a.row.Attempt
	err := p.r.e.store.Update(context.WithoutCancel(p.r.ctx), func(t Tx) error {
		return t.SetActionProcesses(p.r.id, stage, action, attempt, groups)
	})
	if err != nil {
		return fmt.Errorf("record process group %d of %s/%s: %w", g.PGID, stage, action, err)
	}
	p.a.row.Processes = groups // read after the provider returns
	return nil
}
