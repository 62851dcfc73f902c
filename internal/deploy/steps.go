package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/tail"
)

// execStep does the work of one step. It is idempotent: run again after a crash, it
// finds what is already done and does the rest.
func (r *run) execStep(ctx context.Context, name StepName) (skipped bool, err error) {
	switch name {
	case StepInstall:
		return false, r.install(ctx)
	case StepAllowTestTraffic:
		return r.allowTestTraffic(ctx)
	case StepReadyWait:
		return r.readyWait(ctx)
	case StepAllowTraffic:
		if r.d.Kind == KindRollback {
			return false, r.rerouteToOriginal(ctx)
		}
		return false, r.allowTraffic(ctx)
	case StepBakeTime:
		return r.bake(ctx)
	case StepTerminationWait:
		return r.terminationWait(ctx)
	case StepTerminateOriginal:
		return false, r.terminateOriginal(ctx)
	case StepTerminateReplacement:
		return false, r.terminateReplacement(ctx)
	case StepBeforeInstall, StepAfterInstall, StepAfterAllowTestTraffic, StepBeforeAllowTraffic, StepAfterAllowTraffic:
		return r.runHook(ctx, name)
	}
	return false, fmt.Errorf("unknown step %q", name)
}

// currentSpec returns the service's routing now, or a fresh one for a new service.
func (r *run) currentSpec(ctx context.Context) (routing.ServiceSpec, *routing.ServiceStatus, error) {
	st, err := r.c.opts.Router.Service(ctx, r.d.Config.Service.Name)
	if err != nil {
		return routing.ServiceSpec{}, nil, fmt.Errorf("read routing of %s: %w", r.d.Config.Service.Name, err)
	}
	var cur *routing.ServiceSpec
	if st != nil {
		cur = &st.Spec
	}
	return baseSpec(cur, r.d.Config.Service), st, nil
}

// maxRouteAttempts bounds how often update reads again after losing a race.
const maxRouteAttempts = 5

// errUnchanged is what a change returns when the routing needs no write.
var errUnchanged = errors.New("routing unchanged")

// update changes the service's routing in one conditional write: it reads the
// routing now, lets change edit it, and applies it only if nobody changed it
// since (the version read, If-Match on the agent's API). A write that lost the
// race reads again. A change that returns errUnchanged writes nothing.
func (r *run) update(ctx context.Context, what string, change func(spec *routing.ServiceSpec) error) error {
	return r.applyChange(ctx, what, false, change)
}

// reroute is update on the routing the router has now, listeners as they are:
// taking a replacement out (a rollback, a failed deployment's clean-up) must
// not bind the listeners of the deployment's configuration, which may be what
// failed (a port another process holds). A service the router does not have
// has nothing to take out: reroute writes nothing.
func (r *run) reroute(ctx context.Context, what string, change func(spec *routing.ServiceSpec) error) error {
	return r.applyChange(ctx, what, true, change)
}

func (r *run) applyChange(ctx context.Context, what string, asRouted bool, change func(spec *routing.ServiceSpec) error) error {
	for attempt := 1; ; attempt++ {
		spec, st, err := r.currentSpec(ctx)
		if err != nil {
			return err
		}
		if asRouted {
			if st == nil {
				r.logf("routing: %s: service %s is not routed, nothing to change", what, r.d.Config.Service.Name)
				return nil
			}
			spec = st.Spec
		}
		if err := change(&spec); err != nil {
			if errors.Is(err, errUnchanged) {
				return nil
			}
			return err
		}
		var version uint64
		if st != nil {
			version = st.Version
		}
		_, err = r.c.opts.Router.Apply(ctx, spec, version)
		if errors.Is(err, routing.ErrStale) && attempt < maxRouteAttempts {
			r.logf("routing of %s changed while %s; reading it again", spec.Name, what)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		r.logf("routing: %s (weights %v, test -> %q)", what, spec.ProductionWeights, spec.TestTargetGroup)
		return nil
	}
}

// install starts the replacement task set, registers it in the free target group
// and waits until every task is healthy.
func (r *run) install(ctx context.Context) error {
	d := r.d
	spec, _, err := r.currentSpec(ctx)
	if err != nil {
		return err
	}
	if d.ReplacementTargetGroup == "" {
		// First time through: decide the roles and remember the original task set.
		d.OriginalTargetGroup = productionTargetGroup(&spec)
		if d.OriginalTargetGroup == "" {
			d.ReplacementTargetGroup = targetGroupNames(spec.Name)[0]
		} else {
			d.ReplacementTargetGroup = otherTargetGroup(spec.Name, d.OriginalTargetGroup)
			d.OriginalTasks = r.tasksOf(ctx, &spec, d.OriginalTargetGroup)
		}
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	if err := r.clearLeftovers(ctx); err != nil {
		return err
	}
	drv, err := r.c.opts.Drivers.Driver(ctx, d.Config.Service.Driver)
	if err != nil {
		return fail(CodeInternal, "runtime %s: %w", d.Config.Service.Driver, err)
	}
	if err := r.startTasks(ctx, drv); err != nil {
		return err
	}
	err = r.update(ctx, "register replacement targets in "+d.ReplacementTargetGroup, func(spec *routing.ServiceSpec) error {
		setTargets(spec, d.ReplacementTargetGroup, targetSpecs(d.ReplacementTasks, d.ID))
		return nil
	})
	if err != nil {
		return err
	}
	return r.waitHealthy(ctx, drv)
}

// tasksOf returns the tasks registered in a target group, with the driver that
// started them when the last release recorded it.
func (r *run) tasksOf(ctx context.Context, spec *routing.ServiceSpec, tg string) []Task {
	drivers := map[string]string{}
	if last, err := r.c.opts.Store.LastReleased(ctx, spec.Name); err == nil && last != nil {
		for _, t := range last.ReplacementTasks {
			drivers[t.ID] = t.Driver
		}
	}
	var tasks []Task
	for _, t := range targetsOf(spec, tg) {
		tasks = append(tasks, Task{ID: t.ID, Address: t.Address, Driver: drivers[t.ID]})
	}
	return tasks
}

// clearLeftovers removes targets a stopped or failed deployment left in the
// replacement group (the group must be empty before new tasks go in) and stops them.
func (r *run) clearLeftovers(ctx context.Context) error {
	var stale []Task
	err := r.update(ctx, "remove leftover targets from "+r.d.ReplacementTargetGroup, func(spec *routing.ServiceSpec) error {
		var keep []routing.TargetSpec
		keep, stale = r.leftovers(spec)
		if len(stale) == 0 {
			return errUnchanged
		}
		setTargets(spec, r.d.ReplacementTargetGroup, keep)
		if spec.TestTargetGroup == r.d.ReplacementTargetGroup {
			spec.TestTargetGroup = ""
		}
		if spec.ProductionWeights[r.d.ReplacementTargetGroup] > 0 && r.d.OriginalTargetGroup != "" {
			setWeights(spec, r.d.OriginalTargetGroup, 100)
		}
		return nil
	})
	if err != nil || len(stale) == 0 {
		return err
	}
	return r.stopTasks(ctx, stale)
}

// leftovers splits the replacement group's targets into this deployment's and
// those another one left.
func (r *run) leftovers(spec *routing.ServiceSpec) (keep []routing.TargetSpec, stale []Task) {
	mine := map[string]bool{}
	for _, t := range r.d.ReplacementTasks {
		mine[t.ID] = true
	}
	for _, t := range targetsOf(spec, r.d.ReplacementTargetGroup) {
		if mine[t.ID] {
			keep = append(keep, t)
		} else {
			stale = append(stale, Task{ID: t.ID, Address: t.Address})
		}
	}
	return keep, stale
}

// taskID is deterministic, so that a step run again after a crash finds the tasks
// it started before.
func taskID(service, deploymentID string, i int) string {
	return fmt.Sprintf("%s-%s-%d", service, strings.ToLower(deploymentID), i)
}

func (r *run) startTasks(ctx context.Context, drv runtime.Driver) error {
	d := r.d
	count := max(d.Config.Service.DesiredCount, 1)
	for i := len(d.ReplacementTasks); i < count; i++ {
		spec, err := r.taskSpec(ctx, taskID(d.Config.Service.Name, d.ID, i))
		if err != nil {
			return fail(CodeTaskCrashed, "task %s: %w", spec.ID, err)
		}
		task, err := drv.Start(ctx, spec)
		if err != nil {
			return fail(CodeTaskCrashed, "start task %s: %w", spec.ID, r.maskError(ctx, err))
		}
		d.ReplacementTasks = append(d.ReplacementTasks, Task{ID: task.ID, Address: task.Address, Driver: drv.Name()})
		r.logf("started task %s at %s (%s, %d containers)", task.ID, task.Address, drv.Name(), len(spec.Containers))
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	return nil
}

// waitHealthy waits until the router reports every replacement target healthy
// and, when the task definition has container health checks, every task is
// HEALTHY. A task that exits or turns UNHEALTHY, or a deadline passed, fails
// the install with the reason.
func (r *run) waitHealthy(ctx context.Context, drv runtime.Driver) error {
	d := r.d
	deadline, limit := d.installDeadline()
	checked := hasContainerHealthChecks(d.Revision.TaskDefinition)
	tasksHealthy, lastReason := !checked, ""
	lastInspect := time.Time{}
	return r.waitUntil(ctx, func() (bool, error) {
		if time.Since(lastInspect) >= 500*time.Millisecond {
			lastInspect = time.Now()
			healthy, reason, err := r.checkTasks(ctx, drv)
			if err != nil {
				return false, err
			}
			tasksHealthy, lastReason = healthy || !checked, cmp.Or(reason, lastReason)
		}
		st, err := r.c.opts.Router.Service(ctx, d.Config.Service.Name)
		if err != nil {
			return false, fmt.Errorf("read target health: %w", err)
		}
		routed, reason := replacementHealth(st, d)
		if routed && tasksHealthy {
			r.logf("replacement task set healthy in %s", d.ReplacementTargetGroup)
			return true, nil
		}
		lastReason = cmp.Or(reason, lastReason)
		if time.Now().After(deadline) {
			return false, fail(limit.code, "replacement tasks not healthy within the %s of %s: %s", limit.name, limit.d, cmp.Or(lastReason, "no health check passed"))
		}
		return false, nil
	})
}

func replacementHealth(st *routing.ServiceStatus, d *Deployment) (healthy bool, reason string) {
	if st == nil {
		return false, "service not routed"
	}
	want := map[string]bool{}
	for _, t := range d.ReplacementTasks {
		want[t.ID] = true
	}
	for _, g := range st.TargetGroups {
		if g.Name != d.ReplacementTargetGroup {
			continue
		}
		for _, t := range g.Targets {
			if !want[t.ID] {
				continue
			}
			if t.State != routing.TargetHealthy {
				return false, fmt.Sprintf("target %s is %s: %s", t.ID, t.State, t.Reason)
			}
			delete(want, t.ID)
		}
	}
	return len(want) == 0, ""
}

// checkTasks inspects the replacement tasks: one that is gone, exited or
// UNHEALTHY fails the install; healthy reports whether every one is HEALTHY, and
// reason what the first that is not waits for.
func (r *run) checkTasks(ctx context.Context, drv runtime.Driver) (healthy bool, reason string, err error) {
	healthy = true
	for _, t := range r.d.ReplacementTasks {
		task, err := drv.Inspect(ctx, t.ID)
		if errors.Is(err, runtime.ErrNotFound) {
			return false, "", fail(CodeTaskCrashed, "task %s is gone", t.ID)
		}
		if err != nil {
			return false, "", fmt.Errorf("inspect task %s: %w", t.ID, err)
		}
		switch {
		case task.State == runtime.TaskExited:
			msg := fmt.Sprintf("task %s exited with status %d", t.ID, task.ExitCode)
			if task.Error != "" {
				msg += " (" + task.Error + ")"
			}
			return false, "", fail(CodeTaskCrashed, "%s", r.mask(ctx, msg+r.taskLogTail(ctx, drv, t.ID)))
		case task.Health == runtime.HealthUnhealthy:
			return false, "", fail(CodeHealthConstraints, "task %s is UNHEALTHY: %s", t.ID, containerHealth(task))
		case task.Health != runtime.HealthHealthy && healthy:
			healthy, reason = false, fmt.Sprintf("task %s is %s: %s", t.ID, cmp.Or(task.Health, runtime.HealthUnknown), containerHealth(task))
		}
	}
	return healthy, reason, nil
}

// containerHealth lists the health of the containers that have a check.
func containerHealth(task runtime.Task) string {
	var parts []string
	for _, c := range task.Containers {
		if c.Health != "" {
			parts = append(parts, c.Name+" "+string(c.Health))
		}
	}
	return cmp.Or(strings.Join(parts, ", "), "no container health reported")
}

func (r *run) taskLogTail(ctx context.Context, drv runtime.Driver, id string) string {
	var last tail.Buffer
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := drv.Logs(lctx, id, &last, false); err != nil || len(last.Lines()) == 0 {
		return ""
	}
	return "; last output: " + strings.Join(last.Lines(), " | ")
}

func (r *run) allowTestTraffic(ctx context.Context) (bool, error) {
	r.startAlarmWatch(ctx)
	if r.d.Config.Service.TestListener == "" {
		return true, nil
	}
	err := r.update(ctx, "test traffic to "+r.d.ReplacementTargetGroup, func(spec *routing.ServiceSpec) error {
		spec.TestTargetGroup = r.d.ReplacementTargetGroup
		return nil
	})
	r.emit(event.Event{Kind: event.KindTraffic, Name: "test", Message: "test listener -> " + r.d.ReplacementTargetGroup,
		Data: map[string]any{"listener": r.d.Config.Service.TestListener, "target_group": r.d.ReplacementTargetGroup}})
	return false, err
}

// readyWait holds traffic rerouting per the deployment ready option, as
// CodeDeploy's deploymentReadyOption does: CONTINUE_DEPLOYMENT reroutes at once
// (its wait time is ignored); STOP_DEPLOYMENT waits for `deploy continue`, and the
// deployment stops when the wait time passes.
func (r *run) readyWait(ctx context.Context) (bool, error) {
	cfg := r.d.Config
	if cfg.ReadyAction != manifest.ReadyStop {
		return true, nil
	}
	if r.d.Status != StatusReady {
		if err := r.setStatus(ctx, StatusReady, "waiting for `greenlight deploy continue`"); err != nil {
			return false, err
		}
	}
	deadline := r.d.Step(StepReadyWait).Start.Add(cfg.ReadyWait.D())
	err := r.waitUntil(ctx, func() (bool, error) {
		if r.d.ContinueRequested {
			return true, nil
		}
		if time.Now().Before(deadline) {
			return false, nil
		}
		r.d.Stop = &StopRequest{Event: "DEPLOYMENT_STOP_ON_REQUEST", Code: CodeTimeout, Reason: fmt.Sprintf("not continued within the ready wait of %s", cfg.ReadyWait), Requested: time.Now()}
		return false, errInterrupted
	})
	if err != nil {
		return false, err
	}
	if r.d.Status == StatusReady {
		return false, r.setStatus(ctx, StatusInProgress, "continued")
	}
	return false, nil
}

// installLimit names the time a replacement has to become healthy.
type installLimit struct {
	name string
	d    time.Duration
	code ErrorCode
}

// installDeadline is when the replacement must be healthy: the install timeout,
// or for an ECS standard deployment its DeploymentTimeout (both from Install's
// start).
func (d *Deployment) installDeadline() (time.Time, installLimit) {
	limit := installLimit{"install timeout", d.Config.InstallTimeout.D(), CodeHealthConstraints}
	if d.Kind == KindStandard && d.Config.DeploymentTimeout > 0 {
		limit = installLimit{"DeploymentTimeout", d.Config.DeploymentTimeout.D(), CodeTimeout}
	}
	return d.Step(StepInstall).Start.Add(limit.d), limit
}

// allowTraffic moves production to the replacement per the deployment config, one
// atomic weight change per shift. Resumed, it computes where the schedule is from
// the step's recorded start.
func (r *run) allowTraffic(ctx context.Context) error {
	d := r.d
	schedule := ShiftSchedule(d.Config.DeploymentConfig)
	if d.Kind == KindStandard {
		schedule = []TrafficShift{{0, 100}}
		if deadline, limit := d.installDeadline(); d.ReplacementWeight == 0 && time.Now().After(deadline) {
			return fail(limit.code, "replacement tasks not switched in within the %s of %s", limit.name, limit.d)
		}
	}
	start := d.Step(StepAllowTraffic).Start
	for {
		weight, next := WeightAt(schedule, time.Since(start))
		if weight != d.ReplacementWeight {
			if err := r.shiftTo(ctx, weight); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		due := start.Add(next)
		if err := r.waitUntil(ctx, func() (bool, error) { return !time.Now().Before(due), nil }); err != nil {
			return err
		}
	}
}

func (r *run) shiftTo(ctx context.Context, weight int) error {
	d := r.d
	err := r.update(ctx, fmt.Sprintf("production %d%% to %s", weight, d.ReplacementTargetGroup), func(spec *routing.ServiceSpec) error {
		setWeights(spec, d.ReplacementTargetGroup, weight)
		if d.Kind == KindStandard && spec.TestListener != "" {
			spec.TestTargetGroup = d.ReplacementTargetGroup
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.ReplacementWeight = weight
	if err := r.save(ctx); err != nil {
		return err
	}
	r.emit(event.Event{Kind: event.KindTraffic, Name: "production", Message: fmt.Sprintf("production: %d%% replacement, %d%% original", weight, 100-weight),
		Data: map[string]any{"replacement_weight": weight, "target_group": d.ReplacementTargetGroup}})
	return nil
}

// terminationWait keeps the original task set warm: production is on the
// replacement, the deployment is Baking, and a rollback is one weight change away.
func (r *run) terminationWait(ctx context.Context) (bool, error) {
	d := r.d
	if d.TerminationDue.IsZero() {
		d.TerminationDue = d.Step(StepTerminationWait).Start.Add(d.Config.TerminationWait.D())
	}
	if d.Status != StatusBaking {
		if err := r.setStatus(ctx, StatusBaking, fmt.Sprintf("original task set kept warm until %s", d.TerminationDue.Format(time.RFC3339))); err != nil {
			return false, err
		}
	}
	err := r.waitUntil(ctx, func() (bool, error) { return !time.Now().Before(d.TerminationDue), nil })
	r.stopAlarmWatch()
	return false, err
}

// terminateOriginal deregisters the original task set, waits for it to drain and
// stops its tasks.
func (r *run) terminateOriginal(ctx context.Context) error {
	d := r.d
	if d.OriginalTargetGroup == "" {
		return nil
	}
	var routed []routing.TargetSpec
	err := r.update(ctx, "deregister original targets in "+d.OriginalTargetGroup, func(spec *routing.ServiceSpec) error {
		routed = targetsOf(spec, d.OriginalTargetGroup)
		setTargets(spec, d.OriginalTargetGroup, nil)
		if spec.TestTargetGroup == d.OriginalTargetGroup {
			spec.TestTargetGroup = ""
		}
		return nil
	})
	if err != nil {
		return err
	}
	tasks := withRouted(d.OriginalTasks, routed)
	if err := r.waitDrained(ctx, tasks); err != nil {
		return err
	}
	return r.stopTasks(ctx, tasks)
}

// withRouted adds to tasks the targets the group held that tasks does not
// name: a task the service scheduler put in place of a dead one after Install
// read the original set.
func withRouted(tasks []Task, routed []routing.TargetSpec) []Task {
	out := append([]Task(nil), tasks...)
	for _, t := range routed {
		if !slices.ContainsFunc(out, func(k Task) bool { return k.ID == t.ID }) {
			out = append(out, Task{ID: t.ID, Address: t.Address})
		}
	}
	return out
}

// waitDrained waits until none of tasks is registered or draining in the router.
// Draining is bounded by the deregistration delay; the wait gives it a margin.
func (r *run) waitDrained(ctx context.Context, tasks []Task) error {
	ids := map[string]bool{}
	for _, t := range tasks {
		ids[t.ID] = true
	}
	deadline := time.Now().Add(r.d.Config.Service.DeregistrationDelay.D() + 10*time.Second)
	for {
		st, err := r.c.opts.Router.Service(ctx, r.d.Config.Service.Name)
		if err != nil {
			return fmt.Errorf("read draining state: %w", err)
		}
		if !anyTarget(st, ids) || time.Now().After(deadline) {
			return nil
		}
		if err := sleep(ctx, r.c.opts.Poll); err != nil {
			return err
		}
	}
}

func anyTarget(st *routing.ServiceStatus, ids map[string]bool) bool {
	if st == nil {
		return false
	}
	for _, g := range st.TargetGroups {
		for _, t := range g.Targets {
			if ids[t.ID] {
				return true
			}
		}
	}
	return false
}

// stopTasks stops tasks with the driver that started them (or every driver when
// that is unknown: Stop is idempotent).
func (r *run) stopTasks(ctx context.Context, tasks []Task) error {
	grace := 10 * time.Second
	for _, t := range tasks {
		names := []string{t.Driver}
		if t.Driver == "" {
			names = []string{manifest.DriverProcess, manifest.DriverDocker}
		}
		for _, name := range names {
			drv, err := r.c.opts.Drivers.Driver(ctx, name)
			if err != nil {
				if t.Driver == "" {
					continue
				}
				return fmt.Errorf("runtime %s: %w", name, err)
			}
			if err := drv.Stop(ctx, t.ID, grace); err != nil {
				return fmt.Errorf("stop task %s: %w", t.ID, err)
			}
		}
		r.logf("stopped task %s", t.ID)
	}
	return nil
}
