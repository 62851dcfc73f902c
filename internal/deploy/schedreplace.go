package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// errNotServing means the router does not route production where the store
// says the serving task set is: the scheduler leaves the service alone.
var errNotServing = errors.New("production is not on the recorded task set")

// replace starts a task of the serving revision for every dead one, routes
// the target groups to the new tasks (the router sends them traffic once they
// pass its health checks), waits until they serve, records them on the
// deployment whose task list named the dead ones, and stops the dead ones.
// A replacement that exits or fails its health checks is taken out again and
// the error is a *failedStart.
func (s *Scheduler) replace(ctx context.Context, sv *serving, dead []deadTask) error {
	r, err := s.c.newRun(sv.owner)
	if err != nil {
		return err
	}
	defer r.close()
	if ok, err := s.routed(ctx, sv); err != nil || !ok {
		return err
	}
	drv, err := s.c.opts.Drivers.Driver(ctx, sv.owner.Config.Service.Driver)
	if err != nil {
		return fmt.Errorf("runtime %s: %w", sv.owner.Config.Service.Driver, err)
	}
	if err := s.takeOut(ctx, r, dead); err != nil {
		return err
	}
	started, err := s.startAll(ctx, r, drv, sv, dead)
	if err != nil {
		return err
	}
	if err := s.route(ctx, r, sv, dead, started); err != nil {
		if errors.Is(err, errNotServing) {
			s.abandon(ctx, r, started) // production moved meanwhile: nothing to replace
		}
		return err
	}
	for i, t := range started {
		s.note(r, sv, "Registered", fmt.Sprintf("%s registered in %s in place of %s, waiting for its health checks", t.ID, sv.group, dead[i].task.ID),
			map[string]any{"task": dead[i].task.ID, "replacement": t.ID, "target_group": sv.group})
	}
	if err := s.waitServing(ctx, r, drv, sv, started); err != nil {
		if errors.As(err, new(*failedStart)) {
			s.abandon(ctx, r, started)
		}
		return err
	}
	if err := s.record(ctx, sv, dead, started); err != nil {
		return err
	}
	for _, t := range started {
		s.note(r, sv, "Serving", fmt.Sprintf("%s healthy, serving", t.ID), map[string]any{"task": t.ID})
	}
	return s.stopDead(ctx, r, dead)
}

// routed reports whether the router routes all production to the recorded
// serving target group (it does unless someone changed it by hand).
func (s *Scheduler) routed(ctx context.Context, sv *serving) (bool, error) {
	st, err := s.c.opts.Router.Service(ctx, sv.owner.Config.Service.Name)
	if err != nil {
		return false, fmt.Errorf("read routing of %s: %w", sv.owner.Config.Service.Name, err)
	}
	if st == nil || st.Spec.ProductionWeights[sv.group] != 100 {
		s.log.Debug("production not on the recorded task set; not replacing", "service", sv.owner.Config.Service.Name, "group", sv.group)
		return false, nil
	}
	return true, nil
}

// startAll starts the replacement of every dead task (Start of an ID that
// runs returns that task: a replacement a crashed scheduler started is adopted).
func (s *Scheduler) startAll(ctx context.Context, r *run, drv runtime.Driver, sv *serving, dead []deadTask) ([]Task, error) {
	started := make([]Task, 0, len(dead))
	for _, dt := range dead {
		id := replacementID(dt.task.ID)
		s.note(r, sv, "Replacing", fmt.Sprintf("task %s %s: replaced by %s", dt.task.ID, dt.reason, id),
			map[string]any{"task": dt.task.ID, "replacement": id, "exit_code": dt.exitCode})
		spec, err := r.taskSpec(ctx, id)
		if err != nil {
			return nil, &failedStart{id: id, err: r.maskError(ctx, err)}
		}
		task, err := drv.Start(ctx, spec)
		if err != nil {
			return nil, &failedStart{id: id, err: r.maskError(ctx, err)}
		}
		started = append(started, Task{ID: task.ID, Address: task.Address, Driver: drv.Name()})
	}
	return started, nil
}

// takeOut deregisters the dead targets at once, before their replacements
// start (which may take seconds): until then every request the router sends
// them fails. It writes nothing when they are out already.
func (s *Scheduler) takeOut(ctx context.Context, r *run, dead []deadTask) error {
	isDead := func(t routing.TargetSpec) bool {
		return slices.ContainsFunc(dead, func(d deadTask) bool { return d.task.ID == t.ID })
	}
	return r.reroute(ctx, "take dead targets out", func(spec *routing.ServiceSpec) error {
		changed := false
		for i := range spec.TargetGroups {
			g := &spec.TargetGroups[i]
			n := len(g.Targets)
			g.Targets = slices.DeleteFunc(g.Targets, isDead)
			changed = changed || len(g.Targets) != n
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
}

// route, in one conditional write, takes the dead targets out of every target
// group (takeOut did, unless someone put them back) and puts each replacement
// where its dead task was, and at least in the production group. A new target
// gets no traffic until it is healthy.
func (s *Scheduler) route(ctx context.Context, r *run, sv *serving, dead []deadTask, started []Task) error {
	return r.reroute(ctx, "replace dead targets in "+sv.group, func(spec *routing.ServiceSpec) error {
		if spec.ProductionWeights[sv.group] != 100 {
			return errNotServing
		}
		for i := range spec.TargetGroups {
			g := &spec.TargetGroups[i]
			g.Targets = swapTargets(g.Targets, dead, started, g.Name == sv.group, sv.owner.ID)
		}
		return nil
	})
}

// swapTargets replaces dead targets by their replacements; with production
// set, a replacement not there yet is added.
func swapTargets(targets []routing.TargetSpec, dead []deadTask, started []Task, production bool, revision string) []routing.TargetSpec {
	var out []routing.TargetSpec
	has := func(id string) bool {
		return slices.ContainsFunc(out, func(t routing.TargetSpec) bool { return t.ID == id })
	}
	for _, t := range targets {
		i := slices.IndexFunc(dead, func(d deadTask) bool { return d.task.ID == t.ID })
		switch {
		case i >= 0 && !has(started[i].ID):
			out = append(out, routing.TargetSpec{ID: started[i].ID, Address: started[i].Address, Revision: t.Revision})
		case i < 0 && !has(t.ID):
			out = append(out, t)
		}
	}
	for _, t := range started {
		if production && !has(t.ID) {
			out = append(out, routing.TargetSpec{ID: t.ID, Address: t.Address, Revision: revision})
		}
	}
	return out
}

// waitServing waits until the router reports every replacement healthy in the
// production group (and, with container health checks, the task HEALTHY). A
// replacement that exits, turns UNHEALTHY or is not healthy in time is a
// failed start.
func (s *Scheduler) waitServing(ctx context.Context, r *run, drv runtime.Driver, sv *serving, started []Task) error {
	deadline := time.Now().Add(s.healthTimeout(sv))
	checked := hasContainerHealthChecks(sv.owner.Revision.TaskDefinition)
	for {
		st, err := s.c.opts.Router.Service(ctx, sv.owner.Config.Service.Name)
		if err != nil {
			return fmt.Errorf("read target health: %w", err)
		}
		waiting, err := s.notServing(ctx, r, drv, st, sv.group, started, checked)
		if err != nil || waiting == "" {
			return err
		}
		if time.Now().After(deadline) {
			return &failedStart{id: started[0].ID, err: fmt.Errorf("not healthy within %s: %s", s.healthTimeout(sv), waiting)}
		}
		if err := sleep(ctx, s.c.opts.Poll); err != nil {
			return err
		}
	}
}

// notServing returns what the first replacement that does not serve yet waits
// for ("" when all serve), or a *failedStart for one that can no longer serve.
func (s *Scheduler) notServing(ctx context.Context, r *run, drv runtime.Driver, st *routing.ServiceStatus, group string, started []Task, checked bool) (string, error) {
	waiting := ""
	for _, t := range started {
		task, err := drv.Inspect(ctx, t.ID)
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			return "", &failedStart{id: t.ID, err: errors.New("the task is gone")}
		case err != nil:
			return "", fmt.Errorf("inspect task %s: %w", t.ID, err)
		case task.State == runtime.TaskExited:
			msg := fmt.Sprintf("exited with status %d%s", task.ExitCode, r.taskLogTail(ctx, drv, t.ID))
			return "", &failedStart{id: t.ID, err: errors.New(r.mask(ctx, msg))}
		case task.Health == runtime.HealthUnhealthy:
			return "", &failedStart{id: t.ID, err: fmt.Errorf("UNHEALTHY: %s", containerHealth(task))}
		}
		state, reason := targetState(st, group, t.ID)
		if waiting == "" && (state != routing.TargetHealthy || checked && task.Health != runtime.HealthHealthy) {
			waiting = fmt.Sprintf("target %s is %s %s", t.ID, cmp.Or(string(state), "not registered"), reason)
		}
	}
	return waiting, nil
}

func targetState(st *routing.ServiceStatus, group, id string) (routing.TargetState, string) {
	if st == nil {
		return "", ""
	}
	for _, g := range st.TargetGroups {
		for _, t := range g.Targets {
			if g.Name == group && t.ID == id {
				return t.State, t.Reason
			}
		}
	}
	return "", ""
}

func (s *Scheduler) healthTimeout(sv *serving) time.Duration {
	return cmp.Or(s.opts.HealthTimeout, sv.owner.Config.InstallTimeout.D(), 5*time.Minute)
}

// abandon takes replacements that failed to start out of the router and stops
// them (the next attempt starts them afresh under the same IDs).
func (s *Scheduler) abandon(ctx context.Context, r *run, started []Task) {
	err := r.reroute(ctx, "take out replacements that failed to start", func(spec *routing.ServiceSpec) error {
		for i := range spec.TargetGroups {
			g := &spec.TargetGroups[i]
			g.Targets = slices.DeleteFunc(g.Targets, func(t routing.TargetSpec) bool {
				return slices.ContainsFunc(started, func(s Task) bool { return s.ID == t.ID })
			})
		}
		return nil
	})
	if err == nil {
		err = r.stopTasks(ctx, started)
	}
	if err != nil {
		s.log.Error("remove replacements that failed to start", "err", err)
	}
}

// record names the replacements in the serving deployment's task list in
// place of the dead tasks, with a TaskReplacement each, in one save.
func (s *Scheduler) record(ctx context.Context, sv *serving, dead []deadTask, started []Task) error {
	d, err := s.c.opts.Store.Deployment(ctx, sv.record.ID)
	if err != nil {
		return fmt.Errorf("load %s to record replacements: %w", sv.record.ID, err)
	}
	list := &d.ReplacementTasks
	if d.Kind == KindRollback {
		list = &d.OriginalTasks
	}
	now := time.Now()
	for i, dt := range dead {
		*list = slices.DeleteFunc(*list, func(t Task) bool { return t.ID == started[i].ID })
		if j := slices.IndexFunc(*list, func(t Task) bool { return t.ID == dt.task.ID }); j >= 0 {
			(*list)[j] = started[i]
		} else {
			*list = append(*list, started[i])
		}
		d.Replacements = append(d.Replacements, TaskReplacement{Old: dt.task.ID, New: started[i].ID, ExitCode: dt.exitCode, Reason: dt.reason, At: now})
	}
	return s.c.save(ctx, d)
}

// stopDead stops (and so forgets) the dead tasks once they were replaced.
func (s *Scheduler) stopDead(ctx context.Context, r *run, dead []deadTask) error {
	for _, dt := range dead {
		if err := r.stopTasks(ctx, []Task{dt.task}); err != nil {
			return err
		}
		s.mu.Lock()
		s.cleaned[dt.task.ID] = true
		s.mu.Unlock()
	}
	return nil
}

// note logs a line to the serving revision's deployment log and the
// controller's log, and emits it as a task event.
func (s *Scheduler) note(r *run, sv *serving, status, msg string, data map[string]any) {
	r.logf("service scheduler: %s", msg)
	s.log.Info(msg, "service", sv.owner.Config.Service.Name)
	s.emit(sv, status, msg, data)
}
