package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// RetryPolicy says when the controller drives again a deployment whose drive
// failed on the controller's own machinery (the router or the agent's admin API
// unreachable, a runtime driver that cannot stop a task, a store error), and when
// it gives up. A step failure (a hook, health checks, an alarm) is not retried:
// it stops the deployment at once.
type RetryPolicy struct {
	// Base is the delay after a first failure, doubled after each consecutive
	// one up to Max. Defaults: the poll interval, and 30s. A drive that ran for
	// at least Max before it failed made headway: its failure starts a new
	// count (hiccups an hour apart in a long termination wait do not add up).
	Base, Max time.Duration
	// The controller gives up once a deployment failed Attempts times in a row
	// over at least Window. Defaults: 10 and 5m.
	Attempts int
	Window   time.Duration
}

// The bound in production: 10 consecutive failures spanning at least 5 minutes.
// The transient failures a deployment must ride out last seconds: the agent
// restarting (about 1 s), the controller restarting a dead agent (within
// 0.5 s), the Docker Engine restarting (seconds, tens of them with many
// containers). Five minutes is ten times the longest of these, yet short next
// to what a deployment that never ends costs: its service takes no other
// deployment, and a rollback that cannot finish leaves production where it is.
// With the delay doubling from 100 ms to 30 s, five minutes is about 19
// attempts; the ten attempts at the least keep a failure that takes long to
// come (a hung engine timing out) from ending a deployment after a few tries.
const (
	defaultRetryMax      = 30 * time.Second
	defaultRetryAttempts = 10
	defaultRetryWindow   = 5 * time.Minute
)

func (p RetryPolicy) withDefaults(poll time.Duration) RetryPolicy {
	if p.Base <= 0 {
		p.Base = poll
	}
	if p.Max <= 0 {
		p.Max = max(defaultRetryMax, p.Base)
	}
	if p.Attempts <= 0 {
		p.Attempts = defaultRetryAttempts
	}
	if p.Window <= 0 {
		p.Window = defaultRetryWindow
	}
	return p
}

// delay is the wait after the attempt-th consecutive failure.
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.Base
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// exhausted reports whether the controller gives up on a streak at now.
func (p RetryPolicy) exhausted(s retryState, now time.Time) bool {
	return s.attempts >= p.Attempts && now.Sub(s.since) >= p.Window
}

// retryState is a deployment's streak of failed drives, in memory: a controller
// that starts afresh gives every deployment a new count.
type retryState struct {
	attempts int       // consecutive failed drives
	since    time.Time // the first failure of the streak
	next     time.Time // not driven again before
}

// retryable reports whether err, ending a step or a drive, is the controller's
// machinery failing, which another attempt may get past; not a release's
// failure, nor a spec the router refuses however often it is sent.
func retryable(err error) bool {
	var f *failure
	return err != nil && !errors.As(err, &f) && !errors.Is(err, routing.ErrInvalidSpec)
}

// due reports whether id may be driven now: it is not waiting out a retry delay.
func (c *Controller) due(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.retries[id]
	return s == nil || !time.Now().Before(s.next)
}

func (c *Controller) forget(id string) {
	c.mu.Lock()
	delete(c.retries, id)
	c.mu.Unlock()
}

// failed counts a failed drive of id that began at started, and returns the
// streak and the delay before the next attempt.
func (c *Controller) failed(id string, started time.Time) (retryState, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	s := c.retries[id]
	if s == nil || now.Sub(started) >= c.opts.Retry.Max {
		s = &retryState{since: now}
		c.retries[id] = s
	}
	s.attempts++
	delay := c.opts.Retry.delay(s.attempts)
	s.next = now.Add(delay)
	return *s, delay
}

// driveClaimed drives a deployment this goroutine claimed, once.
func (c *Controller) driveClaimed(ctx context.Context, id string) {
	defer c.driving.release(id)
	started := time.Now()
	err := c.Drive(ctx, id)
	switch {
	case ctx.Err() != nil:
	case err == nil:
		c.forget(id)
	default:
		c.driveFailed(ctx, id, started, err)
	}
}

// driveFailed handles a failed drive of a claimed deployment: one log line, the
// error shown where users look, and the next attempt after a delay; or, once
// the policy's bound is reached or no attempt can succeed, the deployment's end.
func (c *Controller) driveFailed(ctx context.Context, id string, started time.Time, err error) {
	s, delay := c.failed(id, started)
	if !retryable(err) || c.opts.Retry.exhausted(s, time.Now()) {
		c.log.Error("drive deployment failed; giving up", "deployment", id, "attempt", s.attempts, "err", err)
		c.giveUp(ctx, id, s, err)
		return
	}
	c.log.Warn("drive deployment failed; retrying", "deployment", id, "attempt", s.attempts, "retry_in", delay, "err", err)
	c.showRetry(ctx, id, s.attempts, delay, err)
}

// loadRun reads a deployment that is not done into a run, for what the
// controller does between drives; nil when it is done.
func (c *Controller) loadRun(ctx context.Context, id string) (*run, error) {
	d, err := c.opts.Store.Deployment(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load deployment %s: %w", id, err)
	}
	if d.Status.Done() {
		c.forget(id)
		return nil, nil
	}
	return c.newRun(d)
}

// showRetry records why a deployment is being retried where users look: an
// event (`greenlight deployments ID`, `run` and `deploy` following it) and the
// message of the step it is in (its lifecycle, the console). One save per
// failure: the delays keep that far below the poll rate. What cannot be
// recorded is in the failure's log line already.
func (c *Controller) showRetry(ctx context.Context, id string, attempt int, delay time.Duration, err error) {
	r, lerr := c.loadRun(ctx, id)
	if r == nil || lerr != nil {
		return
	}
	defer r.close()
	why := r.maskError(ctx, err).Error()
	msg := fmt.Sprintf("attempt %d failed at %s: %s; retrying in %s", attempt, time.Now().Format(time.TimeOnly), why, delay)
	r.logf("%s", msg)
	var step string
	if s := r.d.CurrentStep(); s != nil && s.Status == StepInProgress {
		s.Message, step = msg, string(s.Name)
		if err := r.save(ctx); err != nil {
			c.log.Debug("record retry", "deployment", id, "err", err)
		}
	}
	r.emit(event.Event{Kind: event.KindProgress, Name: step, Status: "Retrying", Message: msg,
		Data: map[string]any{"attempt": attempt, "retry_in_ms": delay.Milliseconds(), "error": why}})
}

// giveUp ends a deployment the controller cannot drive on. One whose lifecycle
// kept failing is stopped as a failed step stops it, so auto-rollback applies;
// one whose stop kept failing (its clean-up, or a rollback's steps) ends Failed.
// When even that cannot be recorded, the streak goes on: it is tried again.
func (c *Controller) giveUp(ctx context.Context, id string, s retryState, cause error) {
	r, err := c.loadRun(ctx, id)
	if r == nil || err != nil {
		if err != nil {
			c.log.Error("give up on deployment", "deployment", id, "err", err)
		}
		return
	}
	defer r.close()
	what := r.maskError(ctx, cause).Error()
	if retryable(cause) {
		what = fmt.Sprintf("gave up after %d attempts in %s: %s", s.attempts, time.Since(s.since).Round(time.Second), what)
	}
	if r.d.Kind != KindRollback && r.d.Stop == nil {
		err = r.stopFailing(ctx, what)
	} else {
		err = r.abandon(ctx, what)
	}
	if err != nil {
		c.log.Error("give up on deployment", "deployment", id, "err", err)
		return
	}
	c.forget(id) // a stop path gets retries of its own
}

// stopFailing stops a deployment whose lifecycle kept failing, as a failed
// step does: its next drive takes the stop path (DEPLOYMENT_FAILURE).
func (r *run) stopFailing(ctx context.Context, what string) error {
	step := r.d.CurrentStep()
	where := "deployment"
	if step != nil && step.Status == StepInProgress {
		where = string(step.Name)
	}
	reason := where + " failed: " + what
	if left := tasksLeft("original", r.d.OriginalTasks); where == string(StepTerminateOriginal) && left != "" {
		reason += "; " + left
	}
	r.d.Stop = &StopRequest{Event: manifest.RollbackOnFailure, Code: CodeInternal, Reason: reason, Requested: time.Now()}
	if err := r.save(ctx); err != nil {
		return err
	}
	r.logf("stopping: %s", reason)
	return nil
}

// abandon ends a deployment whose stop kept failing: Failed, in one save, with
// what failed and what may be left. The code stays the stop's (why the release
// failed), INTERNAL_ERROR for a rollback.
func (r *run) abandon(ctx context.Context, what string) error {
	d, code := r.d, CodeInternal
	msg := "deployment failed: " + what
	if s := d.CurrentStep(); s != nil && s.Status == StepInProgress {
		msg = string(s.Name) + " failed: " + what
	}
	if d.Stop != nil {
		msg, code = d.Stop.Reason+"; its clean-up failed: "+what, d.Stop.Code
	}
	if left := r.leftBehind(); left != "" {
		msg += "; " + left
	}
	d.Status, d.Completed, d.ErrorCode, d.ErrorMessage = StatusFailed, time.Now(), code, msg
	closed := r.markClosed(msg)
	if err := r.save(ctx); err != nil {
		return err
	}
	for _, s := range closed {
		r.emitStep(s)
	}
	r.logf("deployment %s: %s", StatusFailed, msg)
	r.emit(event.Event{Kind: event.KindDeployment, Status: string(StatusFailed), Message: msg, Data: map[string]any{"error_code": code}})
	if d.Kind != KindRollback {
		return nil
	}
	if err := r.c.rollbackEnded(ctx, d); err != nil {
		r.log.Error("record the end of a rollback", "err", err) // this deployment's end is recorded
	}
	return nil
}

// leftBehind says what a deployment the controller gave up on may have left,
// and how to clear it up.
func (r *run) leftBehind() string {
	d := r.d
	var left []string
	if d.ReplacementWeight > 0 {
		left = append(left, fmt.Sprintf("production may still send %d%% of its traffic to the replacement (%s): deploy the previous revision to move it", d.ReplacementWeight, d.ReplacementTargetGroup))
	}
	if r.replacementStarted() {
		left = append(left, tasksLeft("replacement", r.replacementTasksToStop()))
	}
	return strings.Join(left, "; ")
}

// replacementStarted reports whether replacement tasks may have been started.
func (r *run) replacementStarted() bool {
	if r.d.Kind == KindRollback {
		return r.d.ReplacementTargetGroup != ""
	}
	s := r.d.Step(StepInstall)
	return s != nil && !s.Start.IsZero()
}

// tasksLeft names tasks that may still run and how to stop them by hand: Docker
// names a task's container after the task (TASK.CONTAINER for a task of
// several); a process task is the agent's, stopped through its admin API.
func tasksLeft(which string, tasks []Task) string {
	if len(tasks) == 0 {
		return ""
	}
	ids := make([]string, len(tasks))
	var docker, process bool
	for i, t := range tasks {
		ids[i] = t.ID
		docker = docker || t.Driver != manifest.DriverProcess
		process = process || t.Driver != manifest.DriverDocker
	}
	var how []string
	if docker {
		how = append(how, "Docker: `docker rm -f TASK` (TASK.CONTAINER for each container of a task of several)")
	}
	if process {
		how = append(how, "processes: `DELETE /v1/processes/TASK` on the agent's admin API, its socket agent.sock and bearer token agent.token in the state directory")
	}
	return fmt.Sprintf("%s tasks %s may still be running: stop them by hand (%s)", which, strings.Join(ids, ", "), strings.Join(how, "; "))
}
