package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/mask"
)

// Options wires a Controller to the world.
type Options struct {
	Store    Store
	Router   Router
	Drivers  Drivers
	Hooks    HookRunner
	Watchers WatcherFactory // nil: alarms are not evaluated
	// Secrets reads container secrets; nil: a task definition with secrets
	// cannot start.
	Secrets SecretResolver
	Events  event.Sink
	Logger  *slog.Logger
	LogDir  string // deployment logs: <LogDir>/<deployment>.log
	// AfterRollback, when set, is told of every deployment that was rolled back,
	// once its rollback ended: production restored, unless the rollback failed
	// (the pipeline marks the execution that released it as failed).
	AfterRollback func(ctx context.Context, rolledBack *Deployment)
	Poll          time.Duration // how often waits look for commands and state; default 100ms
	// Retry says when a deployment whose drive failed on the controller's own
	// machinery is driven again, and when the controller gives up on it; zero
	// fields take the defaults (see RetryPolicy).
	Retry RetryPolicy
}

// Controller drives deployments. One controller runs per state directory (the
// caller holds the lock); it picks up deployments any process created.
type Controller struct {
	opts    Options
	log     *slog.Logger
	driving claims                 // deployments driven now
	mu      sync.Mutex             // guards retries
	retries map[string]*retryState // deployments whose last drive failed
}

// NewController returns a controller with opts, defaults filled in.
func NewController(opts Options) *Controller {
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Events == nil {
		opts.Events = event.Discard
	}
	opts.Retry = opts.Retry.withDefaults(opts.Poll)
	return &Controller{opts: opts, log: opts.Logger, retries: map[string]*retryState{}}
}

// Run drives every active deployment, picking up new ones as they are created,
// until ctx ends. Deployments left mid-way by a controller that crashed are resumed
// from their recorded step; one whose drive failed is driven again after the
// delay of its RetryPolicy.
func (c *Controller) Run(ctx context.Context) error {
	tick := time.NewTicker(c.opts.Poll)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		active, err := c.opts.Store.ActiveDeployments(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Error("list active deployments", "err", err)
		}
		for _, d := range active {
			if c.due(d.ID) && c.driving.claim(d.ID) {
				wg.Add(1)
				go func(id string) {
					defer wg.Done()
					c.driveClaimed(ctx, id)
				}(d.ID)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// claims is a set of keys (deployments, services), each held by one goroutine
// at a time.
type claims struct {
	mu   sync.Mutex
	held map[string]bool
}

// claim takes key, unless another holds it.
func (c *claims) claim(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[key] {
		return false
	}
	if c.held == nil {
		c.held = map[string]bool{}
	}
	c.held[key] = true
	return true
}

func (c *claims) release(key string) {
	c.mu.Lock()
	delete(c.held, key)
	c.mu.Unlock()
}

// Drive runs one deployment until it is done (or ctx ends: the deployment then stays
// as recorded and the next Drive resumes it).
func (c *Controller) Drive(ctx context.Context, id string) error {
	d, err := c.opts.Store.Deployment(ctx, id)
	if err != nil {
		return fmt.Errorf("load deployment %s: %w", id, err)
	}
	if d.Status.Done() {
		return nil
	}
	r, err := c.newRun(d)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.drive(ctx); err != nil {
		return err
	}
	if d.Kind == KindRollback && d.Status.Done() {
		return c.rollbackEnded(ctx, d)
	}
	return nil
}

// run is the state of driving one deployment in this process.
type run struct {
	c         *Controller
	d         *Deployment
	log       *slog.Logger
	out       io.Writer // the deployment's log file
	closer    io.Closer
	alarms    chan alarmBreach // ALARM transitions from the watcher
	watcher   AlarmWatcher     // nil until the alarms are watched
	stopWatch context.CancelFunc
	secrets   *mask.Masker // the task definition's secret values, once resolved
}

func (c *Controller) newRun(d *Deployment) (*run, error) {
	r := &run{c: c, d: d, log: c.log.With("deployment", d.ID, "group", d.Application+"/"+d.Group), out: io.Discard, alarms: make(chan alarmBreach, 16)}
	if c.opts.LogDir != "" {
		if err := os.MkdirAll(c.opts.LogDir, 0o755); err != nil {
			return nil, fmt.Errorf("create deployment log directory: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(c.opts.LogDir, d.ID+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open deployment log: %w", err)
		}
		r.out, r.closer = f, f
	}
	return r, nil
}

func (r *run) close() {
	if r.stopWatch != nil {
		r.stopWatch()
	}
	if r.closer != nil {
		r.closer.Close()
	}
}

// errInterrupted means a wait ended because the deployment must stop.
var errInterrupted = errors.New("deployment interrupted")

func (r *run) drive(ctx context.Context) error {
	if err := r.waitTurn(ctx); err != nil {
		return err
	}
	if r.d.Status == StatusCreated {
		if err := r.setStatus(ctx, StatusInProgress, ""); err != nil {
			return err
		}
		if err := r.checkExistingAlarms(ctx); err != nil {
			return err
		}
	}
	r.resumeAlarmWatch(ctx)
	for {
		if err := r.pollCommands(ctx); err != nil {
			return err
		}
		if r.d.Stop != nil {
			return r.stop(ctx)
		}
		step := r.d.CurrentStep()
		if step == nil {
			return r.finish(ctx, StatusSucceeded)
		}
		if err := r.runStep(ctx, step.Name); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, errInterrupted) {
				continue
			}
			return err
		}
	}
}

// runStep runs one step from Pending or InProgress (resumed) to a final status.
func (r *run) runStep(ctx context.Context, name StepName) error {
	step := r.d.Step(name)
	if step.Status == StepPending {
		step.Status, step.Start = StepInProgress, time.Now()
		if err := r.save(ctx); err != nil {
			return err
		}
		r.emitStep(step)
	} else {
		step.Message = "" // resumed: a retry's note no longer holds (saved with the step's next change)
	}
	skipped, err := r.execStep(ctx, name)
	step = r.d.Step(name)
	switch {
	case errors.Is(err, errInterrupted) || ctx.Err() != nil:
		return err
	case err != nil && retryable(err):
		// The controller's machinery failed, not the release: the drive fails, and
		// the controller runs the step again after a delay, as it resumes one after
		// a crash. Only a failure that outlasts the RetryPolicy stops the deployment.
		return err
	case err != nil:
		var f *failure
		if !errors.As(err, &f) {
			f = &failure{code: CodeInternal, err: err}
		}
		step.Status, step.End, step.Message = StepFailed, time.Now(), f.Error()
		r.d.Stop = &StopRequest{Event: "DEPLOYMENT_FAILURE", Code: f.code, Reason: fmt.Sprintf("%s failed: %s", name, f.Error()), Requested: time.Now()}
		r.logf("%s failed: %v", name, f)
	case skipped:
		step.Status, step.End = StepSkipped, time.Now()
	default:
		step.Status, step.End = StepSucceeded, time.Now()
	}
	if err := r.save(ctx); err != nil {
		return err
	}
	r.emitStep(step)
	if r.d.Stop != nil {
		return errInterrupted
	}
	return nil
}

// failure is a step failure with a CodeDeploy error code.
type failure struct {
	code ErrorCode
	err  error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(code ErrorCode, format string, args ...any) error {
	return &failure{code: code, err: fmt.Errorf(format, args...)}
}

func (r *run) setStatus(ctx context.Context, s Status, msg string) error {
	r.d.Status = s
	if s.Done() {
		r.d.Completed = time.Now()
	}
	if err := r.save(ctx); err != nil {
		return err
	}
	r.emit(event.Event{Kind: event.KindDeployment, Status: string(s), Message: msg})
	return nil
}

func (r *run) finish(ctx context.Context, s Status) error {
	r.logf("deployment %s", s)
	return r.setStatus(ctx, s, r.d.ErrorMessage)
}

// save persists the deployment.
func (r *run) save(ctx context.Context) error { return r.c.save(ctx, r.d) }

// save persists d. Saving uses a context of its own: a deployment's state must
// reach the store even while the caller is shutting down.
func (c *Controller) save(ctx context.Context, d *Deployment) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.opts.Store.SaveDeployment(sctx, d); err != nil {
		return fmt.Errorf("save deployment %s: %w", d.ID, err)
	}
	return nil
}

func (r *run) emit(e event.Event) {
	e.Time = time.Now()
	e.DeploymentID = r.d.ID
	e.ExecutionID = r.d.ExecutionID
	e.Group = r.d.Application + "/" + r.d.Group
	r.c.opts.Events.Emit(e)
}

func (r *run) emitStep(s *Step) {
	r.emit(event.Event{Kind: event.KindLifecycle, Name: string(s.Name), Status: string(s.Status), Message: s.Message})
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
}

// waitTurn holds a new deployment until older active deployments of the same
// service, and any rollback of it, are done. An older one that is only baking
// (termination wait) is asked to finish now: a newer release replaces the warm
// original. A rollback never waits: it finishes what its deployment started.
func (r *run) waitTurn(ctx context.Context) error {
	if r.d.Kind == KindRollback {
		return nil
	}
	asked := map[string]bool{}
	for {
		active, err := r.c.opts.Store.ActiveDeployments(ctx)
		if err != nil {
			return fmt.Errorf("list active deployments: %w", err)
		}
		var older *Deployment
		for _, o := range active {
			if o.ID != r.d.ID && o.Config.Service.Name == r.d.Config.Service.Name && (o.Created.Before(r.d.Created) || o.Kind == KindRollback) {
				older = o
				break
			}
		}
		if older == nil {
			return nil
		}
		if older.Status == StatusBaking && !asked[older.ID] {
			asked[older.ID] = true
			r.logf("waiting for %s to finish its termination wait early", older.ID)
			if err := r.c.opts.Store.AddCommand(ctx, older.ID, Command{Name: CommandFinishBaking, Reason: "superseded by " + r.d.ID, Time: time.Now()}); err != nil {
				return err
			}
		}
		if err := sleep(ctx, r.c.opts.Poll); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pollCommands applies commands other processes queued for this deployment.
func (r *run) pollCommands(ctx context.Context) error {
	cmds, err := r.c.opts.Store.TakeCommands(ctx, r.d.ID)
	if err != nil {
		return fmt.Errorf("read commands: %w", err)
	}
	changed := false
	for _, cmd := range cmds {
		r.logf("command %s from %s: %s", cmd.Name, cmd.Who, cmd.Reason)
		switch cmd.Name {
		case CommandContinue:
			r.d.ContinueRequested, changed = true, true
		case CommandFinishBaking:
			if r.d.TerminationDue.IsZero() || r.d.TerminationDue.After(time.Now()) {
				r.d.TerminationDue, changed = time.Now(), true
			}
		case CommandStop, CommandRollback:
			if r.originalTerminating() {
				r.logf("%s refused: the original task set is already being terminated", cmd.Name)
				r.emit(event.Event{Kind: event.KindDeployment, Status: "Refused", Message: string(cmd.Name) + " refused: the original task set is already being terminated; deploy the previous revision instead"})
				continue
			}
			if r.d.Stop == nil {
				event := "DEPLOYMENT_STOP_ON_REQUEST"
				if cmd.Name == CommandRollback {
					event = eventManualRollback
				}
				r.d.Stop = &StopRequest{Event: event, Code: CodeManualStop, Reason: stopReason(cmd), Requested: cmd.Time}
				changed = true
			}
		}
	}
	if changed {
		return r.save(ctx)
	}
	return nil
}

// originalTerminating reports whether the deployment has begun terminating its
// original task set: from then on there is nothing warm to roll back to.
func (r *run) originalTerminating() bool {
	s := r.d.Step(StepTerminateOriginal)
	return s != nil && !s.Start.IsZero()
}

// eventManualRollback marks a stop that rolls back whatever the group's
// auto-rollback settings say: the operator asked for it.
const eventManualRollback = "MANUAL_ROLLBACK"

func stopReason(cmd Command) string {
	what := "stopped"
	if cmd.Name == CommandRollback {
		what = "rollback requested"
	}
	if cmd.Who != "" {
		what += " by " + cmd.Who
	}
	if cmd.Reason != "" {
		what += ": " + cmd.Reason
	}
	return what
}

// interrupted checks, without blocking, for anything that must stop the deployment:
// commands and alarms. It returns errInterrupted when the deployment must stop.
func (r *run) interrupted(ctx context.Context) error {
	select {
	case b := <-r.alarms:
		r.onAlarm(b)
		if err := r.save(ctx); err != nil {
			return err
		}
	default:
	}
	if err := r.pollCommands(ctx); err != nil {
		return err
	}
	if r.d.Stop != nil {
		return errInterrupted
	}
	return nil
}

// waitUntil polls cond every Poll until it returns true, the deployment must stop,
// or ctx ends.
func (r *run) waitUntil(ctx context.Context, cond func() (bool, error)) error {
	for {
		if err := r.interrupted(ctx); err != nil {
			return err
		}
		done, err := cond()
		if err != nil || done {
			return err
		}
		if err := r.sleepOrAlarm(ctx); err != nil {
			return err
		}
	}
}

// sleepOrAlarm waits one poll interval, waking early when an alarm fires (an alarm
// must move traffic back within milliseconds, not a poll later).
func (r *run) sleepOrAlarm(ctx context.Context) error {
	t := time.NewTimer(r.c.opts.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case b := <-r.alarms:
		r.onAlarm(b)
		return r.save(ctx)
	case <-t.C:
		return nil
	}
}
