package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// SchedulerOptions tunes the service scheduler; zero fields take the defaults.
type SchedulerOptions struct {
	// Poll is how often every service's production tasks are inspected
	// (default 1s).
	Poll time.Duration
	// BackoffBase is the delay after a replacement's first failed start; each
	// further consecutive failure doubles it (default 5s).
	BackoffBase time.Duration
	// BackoffMax caps the delay between attempts (default 15 minutes).
	BackoffMax time.Duration
	// HealthTimeout bounds how long a replacement has to pass the target
	// group's health checks (default: the serving deployment's install timeout,
	// else 5 minutes).
	HealthTimeout time.Duration
	// History is how many of a service's newest deployments are read per pass
	// to find its serving task set (default 20).
	History int
}

func (o SchedulerOptions) withDefaults() SchedulerOptions {
	o.Poll = cmp.Or(o.Poll, time.Second)
	o.BackoffBase = cmp.Or(o.BackoffBase, 5*time.Second)
	o.BackoffMax = cmp.Or(o.BackoffMax, 15*time.Minute)
	o.History = cmp.Or(o.History, 20)
	return o
}

// Scheduler keeps every released service at its desired count, as the ECS
// service scheduler does: a production task that exits (or is gone) after its
// deployment ended is replaced by a task of the same revision. A service with
// an active deployment is left alone: the deployment owns its tasks.
//
// The serving task set is the one the store records (see servingSet); the
// router is only written, never trusted for which tasks should exist.
// Replacement task IDs derive from the dead task's ID, so a scheduler that
// crashed mid-replacement starts nothing twice: Start with the same ID returns
// the task that runs, and the replacement goes on from where it was.
type Scheduler struct {
	c        *Controller
	opts     SchedulerOptions
	log      *slog.Logger
	mu       sync.Mutex
	busy     claims                    // services being replaced now
	throttle map[string]*throttleState // by service
	cleaned  map[string]bool           // replaced tasks stopped by this process
}

// throttleState counts a service's consecutive failed starts, ECS's service
// throttle logic: each one doubles the delay before the next attempt.
type throttleState struct {
	deployment string // the service's newest deployment: a new one resets the count
	failures   int
	next       time.Time
}

// NewScheduler returns a scheduler using the controller's store, router,
// drivers, secrets, events and deployment logs.
func NewScheduler(opts Options, so SchedulerOptions) *Scheduler {
	c := NewController(opts)
	return &Scheduler{c: c, opts: so.withDefaults(), log: c.log.With("component", "scheduler"),
		throttle: map[string]*throttleState{}, cleaned: map[string]bool{}}
}

// Run inspects the production tasks of every released service every Poll and
// replaces those that exited, until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if err := s.pass(ctx, &wg); err != nil && ctx.Err() == nil {
			s.log.Error("service scheduler pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// pass checks every service without an active deployment.
func (s *Scheduler) pass(ctx context.Context, wg *sync.WaitGroup) error {
	active, err := s.c.opts.Store.ActiveDeployments(ctx)
	if err != nil {
		return fmt.Errorf("list active deployments: %w", err)
	}
	services, err := s.c.opts.Store.Services(ctx)
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	busy := map[string]bool{}
	for _, d := range active {
		busy[d.Config.Service.Name] = true
	}
	for _, service := range services {
		if busy[service] || !s.busy.claim(service) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.busy.release(service)
			if err := s.check(ctx, service); err != nil && ctx.Err() == nil {
				s.log.Error("service scheduler", "service", service, "err", err)
			}
		}()
	}
	return nil
}

// serving is the task set that serves a service's production, as recorded.
type serving struct {
	record *Deployment // the deployment whose task list names the set
	owner  *Deployment // the deployment whose revision the tasks run
	group  string      // the production target group
	tasks  []Task
}

// servingSet finds, in a service's deployments (newest first, none active),
// the task set production runs on: a succeeded deployment's replacement tasks,
// or a succeeded rollback's original tasks (which run the revision that served
// before the deployment it rolled back). A deployment that failed or stopped
// before it ever served production is passed over; one that left production
// split between task sets, or a rollback that failed, leaves nothing to
// schedule: the operator decides.
func servingSet(history []*Deployment) *serving {
	for i, d := range history {
		switch {
		case d.Status == StatusSucceeded && d.Kind != KindRollback:
			return &serving{record: d, owner: d, group: d.ReplacementTargetGroup, tasks: d.ReplacementTasks}
		case d.Status == StatusSucceeded:
			prev := servingSet(olderThan(history[i+1:], d.RollbackOf))
			if prev == nil || d.OriginalTargetGroup == "" {
				return nil
			}
			return &serving{record: d, owner: prev.owner, group: d.OriginalTargetGroup, tasks: d.OriginalTasks}
		case d.Status.Done() && d.RolledBackBy == "" && d.ReplacementWeight == 0:
			continue
		default:
			return nil
		}
	}
	return nil
}

// olderThan returns the deployments after the one with id (newest first).
func olderThan(history []*Deployment, id string) []*Deployment {
	for i, d := range history {
		if d.ID == id {
			return history[i+1:]
		}
	}
	return nil
}

// deadTask is a production task that exited or is gone.
type deadTask struct {
	task     Task
	exitCode int
	reason   string
}

// check replaces the service's dead production tasks, when its throttle
// allows an attempt now.
func (s *Scheduler) check(ctx context.Context, service string) error {
	history, err := s.c.opts.Store.LatestDeployments(ctx, service, s.opts.History)
	if err != nil || len(history) == 0 || history[0].Active() {
		return err
	}
	sv := servingSet(history)
	if sv == nil || len(sv.tasks) == 0 {
		return nil
	}
	s.cleanUp(ctx, sv)
	dead, err := s.deadTasks(ctx, sv)
	if err != nil || len(dead) == 0 {
		return err
	}
	if !s.mayAttempt(service, history[0].ID) {
		return nil
	}
	err = s.replace(ctx, sv, dead)
	var fs *failedStart
	if errors.As(err, &fs) {
		s.failed(sv, fs)
		return nil
	}
	if err == nil {
		s.succeeded(service)
	}
	return err
}

// deadTasks inspects the serving tasks with their drivers. A driver that does
// not answer makes no task dead: only an exit or a missing task does.
func (s *Scheduler) deadTasks(ctx context.Context, sv *serving) ([]deadTask, error) {
	var dead []deadTask
	for _, t := range sv.tasks {
		drv, err := s.c.opts.Drivers.Driver(ctx, cmp.Or(t.Driver, sv.owner.Config.Service.Driver))
		if err != nil {
			return nil, fmt.Errorf("runtime of task %s: %w", t.ID, err)
		}
		task, err := drv.Inspect(ctx, t.ID)
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			dead = append(dead, deadTask{task: t, exitCode: -1, reason: "is gone"})
		case err != nil:
			return nil, fmt.Errorf("inspect task %s: %w", t.ID, err)
		case task.State == runtime.TaskExited:
			dead = append(dead, deadTask{task: t, exitCode: task.ExitCode, reason: exitReason(task)})
		}
	}
	return dead, nil
}

// exitReason says how a task ended: "exited (exit code 137)", with the
// driver's reason when it gives one.
func exitReason(task runtime.Task) string {
	if task.Error != "" {
		return fmt.Sprintf("exited (exit code %d: %s)", task.ExitCode, task.Error)
	}
	return fmt.Sprintf("exited (exit code %d)", task.ExitCode)
}

// cleanUp stops, once per process, the dead tasks the record says were
// replaced: a scheduler that crashed after recording a replacement may not
// have stopped (and forgotten) the dead one. Stop is idempotent.
func (s *Scheduler) cleanUp(ctx context.Context, sv *serving) {
	for _, rep := range sv.record.Replacements {
		s.mu.Lock()
		done := s.cleaned[rep.Old]
		s.mu.Unlock()
		if done {
			continue
		}
		r, err := s.c.newRun(sv.owner)
		if err != nil {
			return
		}
		err = r.stopTasks(ctx, []Task{{ID: rep.Old, Driver: sv.owner.Config.Service.Driver}})
		r.close()
		if err == nil {
			s.mu.Lock()
			s.cleaned[rep.Old] = true
			s.mu.Unlock()
		}
	}
}

// replacementID is the deterministic ID of the task that replaces id:
// <id>-r1, then -r2 for the replacement of that one, and so on.
func replacementID(id string) string {
	if m := replacedSuffix.FindStringSubmatch(id); m != nil {
		n, _ := strconv.Atoi(m[2])
		return m[1] + "-r" + strconv.Itoa(n+1)
	}
	return id + "-r1"
}

var replacedSuffix = regexp.MustCompile(`^(.*)-r([0-9]+)$`)

// mayAttempt reports whether the service's throttle allows an attempt now; a
// newer deployment of the service than the one the failures counted against
// resets it.
func (s *Scheduler) mayAttempt(service, newest string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	th := s.throttle[service]
	if th == nil || th.deployment != newest {
		s.throttle[service] = &throttleState{deployment: newest}
		return true
	}
	return !time.Now().Before(th.next)
}

func (s *Scheduler) succeeded(service string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if th := s.throttle[service]; th != nil {
		th.failures, th.next = 0, time.Time{}
	}
}

// failed counts a failed start and schedules the next attempt: BackoffBase
// doubled per consecutive failure, capped at BackoffMax.
func (s *Scheduler) failed(sv *serving, fs *failedStart) {
	service := sv.owner.Config.Service.Name
	s.mu.Lock()
	th := s.throttle[service]
	th.failures++
	delay := backoff(s.opts.BackoffBase, s.opts.BackoffMax, th.failures)
	th.next = time.Now().Add(delay)
	failures := th.failures
	s.mu.Unlock()
	msg := fmt.Sprintf("service %s is unable to consistently start tasks successfully: replacement %s failed to start (%v); %d failed start(s) in a row, next attempt in %s",
		service, fs.id, fs.err, failures, delay)
	s.log.Warn(msg, "service", service)
	s.emit(sv, "Throttled", msg, map[string]any{"task": fs.id, "failures": failures, "delay_ms": delay.Milliseconds()})
}

func backoff(base, ceiling time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// failedStart is a replacement that exited or failed its health checks before
// it served: it counts against the service's throttle.
type failedStart struct {
	id  string
	err error
}

func (f *failedStart) Error() string {
	return fmt.Sprintf("replacement %s failed to start: %v", f.id, f.err)
}
func (f *failedStart) Unwrap() error { return f.err }

func (s *Scheduler) emit(sv *serving, status, msg string, data map[string]any) {
	s.c.opts.Events.Emit(event.Event{Time: time.Now(), Kind: event.KindTask, Status: status, Message: msg, Data: data,
		DeploymentID: sv.record.ID, Group: sv.record.Application + "/" + sv.record.Group, Name: sv.owner.Config.Service.Name})
}
