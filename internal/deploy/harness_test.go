package deploy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/hookrun"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/loadgen"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/router"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/supervisor"
	"github.com/greenlight-ci/greenlight/internal/store"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// testApp is the revision binary every test releases (built once).
var testApp string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "./internal/testapp", Name: "testapp", Path: &testApp, Options: gobuild.Options{Static: true}}))
}

// harness is a real data plane in-process: the router, the process supervisor, a
// SQLite state file and a controller running in the background.
type harness struct {
	t        *testing.T
	dir      string
	db       *store.DB
	st       deploy.Store
	rt       *router.Router
	sup      *supervisor.Supervisor
	events   *event.Recorder
	prod     string // production listener
	test     string // test listener
	service  string
	cancel   context.CancelFunc
	finished chan struct{}
	// crashAfter, when set, makes the store "crash" the controller right after it
	// records a deployment for which it returns true: the save lands, then the
	// controller stops dead, as a SIGKILL at that instant would leave it.
	crashAfter func(*deploy.Deployment) bool
	crashMu    sync.Mutex
	routeMu    sync.Mutex
	races      atomic.Int32
	rolledBack sync.Map // deployment id -> true, from Options.AfterRollback
	// retry is the controller's RetryPolicy (zero: the defaults), taken when
	// the controller starts.
	retry deploy.RetryPolicy
	// sched, when set, runs the service scheduler beside the controller.
	sched *deploy.SchedulerOptions
	// faults, while set, fail the runtime's Stop and the router's Apply.
	faultMu    sync.Mutex
	stopFault  func(taskID string) error
	applyFault func(spec routing.ServiceSpec) error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	sup, err := supervisor.New(filepath.Join(dir, "tasks"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, dir: dir, db: db, st: db.Deployments(), sup: sup, events: &event.Recorder{},
		rt:   router.New(router.Options{Logger: slog.New(slog.DiscardHandler)}),
		prod: testnet.FreeAddr(t), test: testnet.FreeAddr(t), service: "web", finished: make(chan struct{}),
	}
	h.start()
	t.Cleanup(func() {
		h.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := sup.StopAll(ctx, time.Second); err != nil {
			t.Error(err)
		}
		sup.Close()
		h.rt.Close(ctx)
		db.Close()
	})
	return h
}

// start runs a controller, as a controller process would.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.finished = cancel, make(chan struct{})
	ctrl := deploy.NewController(h.options())
	var sched *deploy.Scheduler
	if h.sched != nil {
		sched = deploy.NewScheduler(h.options(), *h.sched)
	}
	go func() {
		defer close(h.finished)
		var wg sync.WaitGroup
		if sched != nil {
			wg.Go(func() { _ = sched.Run(ctx) })
		}
		_ = ctrl.Run(ctx) // ends with ctx
		wg.Wait()
	}()
}

// stop stops the controller the way a crash would leave things: whatever step it
// was in stays recorded as it is.
func (h *harness) stop() {
	h.cancel()
	<-h.finished
}

func (h *harness) options() deploy.Options {
	rt := localRouter{r: h.rt, mu: &h.routeMu, races: &h.races}
	return deploy.Options{
		Store: crashingStore{h.st, h}, Router: faultyRouter{rt, h}, Drivers: faultyDrivers{supervisorDrivers{h.sup}, h},
		Hooks: hookrun.Local{HTTP: hookrun.HTTP{Waits: store.HookWaits{DB: h.db}, Poll: 20 * time.Millisecond}},
		Watchers: func(service, tg string, alarms []*manifest.Alarm, from time.Time, onChange func(alarm.Transition)) deploy.AlarmWatcher {
			return alarm.NewWatcher(rt, service, tg, alarms, from, onChange)
		},
		Secrets: provider.ContainerSecret,
		Events:  h.events, LogDir: filepath.Join(h.dir, "logs"), Poll: 50 * time.Millisecond,
		AfterRollback: func(_ context.Context, d *deploy.Deployment) { h.rolledBack.Store(d.ID, true) },
		Retry:         h.retry,
	}
}

// release describes one deployment of the test app.
type release struct {
	version string
	env     map[string]string
	config  func(*deploy.Config)
	taskdef func(*manifest.TaskDefinition) // changes to the one-container task definition
}

func (h *harness) config() deploy.Config {
	return deploy.Config{
		Service: deploy.ServiceConfig{
			Name: h.service, Driver: manifest.DriverProcess, DesiredCount: 2,
			ProductionListener: h.prod, TestListener: h.test,
			HealthCheck: manifest.HealthCheck{Path: "/health", Interval: manifest.Duration(200 * time.Millisecond),
				Timeout: manifest.Duration(150 * time.Millisecond), HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200"},
			DeregistrationDelay: jsontime.Duration(2 * time.Second),
			ProcessCommand:      []string{testApp},
		},
		DeploymentConfig: manifest.BuiltinDeploymentConfigs["CodeDeployDefault.ECSAllAtOnce"],
		ReadyAction:      manifest.ReadyContinue,
		InstallTimeout:   jsontime.Duration(30 * time.Second),
		AutoRollback:     manifest.AutoRollback{Enabled: true, Events: []string{manifest.RollbackOnFailure, manifest.RollbackOnAlarm, manifest.RollbackOnRequest}},
		Hooks:            map[string]*manifest.Hook{},
	}
}

// revision is the test app reporting r.version, with r.env, as one container.
func (h *harness) revision(r release) deploy.Revision {
	env := []manifest.NameValue{{Name: "VERSION", Value: r.version}}
	for k, v := range r.env {
		env = append(env, manifest.NameValue{Name: k, Value: v})
	}
	td := &manifest.TaskDefinition{Family: "web", ContainerDefinitions: []*manifest.ContainerDefinition{{
		Name: "app", Image: "testapp:" + r.version, Environment: env, PortMappings: []manifest.PortMapping{{ContainerPort: 8080}},
	}}}
	if r.taskdef != nil {
		r.taskdef(td)
	}
	return deploy.Revision{TaskDefinition: td, ContainerName: "app", ContainerPort: 8080, Image: td.ContainerDefinitions[0].Image, ArtifactDir: h.dir, CommitID: r.version}
}

func (h *harness) create(r release) *deploy.Deployment {
	h.t.Helper()
	cfg := h.config()
	if r.config != nil {
		r.config(&cfg)
	}
	d, err := deploy.Create(h.t.Context(), h.st, deploy.Request{
		Kind: deploy.KindBlueGreen, Application: "web", Group: "production", Config: cfg, Revision: h.revision(r),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// wait polls the deployment until cond holds.
func (h *harness) wait(id string, what string, cond func(*deploy.Deployment) bool) *deploy.Deployment {
	h.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		d, err := h.st.Deployment(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("deployment %s never became %s: status %s, steps %+v, error %s", id, what, d.Status, d.Steps, d.ErrorMessage)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func released(d *deploy.Deployment) bool { return d.Status.Released() || d.Status.Done() }
func done(d *deploy.Deployment) bool     { return d.Status.Done() }

// deployAndRelease runs a deployment until production serves it.
func (h *harness) deployAndRelease(r release) *deploy.Deployment {
	h.t.Helper()
	d := h.wait(h.create(r).ID, "released", released)
	if !d.Status.Released() {
		h.t.Fatalf("deployment %s of %s: %s: %s", d.ID, r.version, d.Status, d.ErrorMessage)
	}
	return d
}

// get fetches / from a listener.
func get(client *http.Client, addr string) (int, string, error) {
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// startLoad keeps requests going to a listener, counting bodies (which release
// answered).
func startLoad(addr string, workers int) *loadgen.Load {
	return loadgen.Start("http://"+addr+"/", loadgen.Options{Workers: workers, Bodies: true})
}

// waitFor polls until a request answers a body.
func waitFor(t *testing.T, addr, body string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		status, got, err := get(client, addr)
		if err == nil && status == 200 && got == body {
			return
		}
		last = fmt.Sprintf("%d %q %v", status, got, err)
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered %q; last: %s", addr, body, last)
}

// crashingStore stops the controller right after a save crashAfter picks.
type crashingStore struct {
	deploy.Store
	h *harness
}

func (c crashingStore) SaveDeployment(ctx context.Context, d *deploy.Deployment) error {
	if err := c.Store.SaveDeployment(ctx, d); err != nil {
		return err
	}
	c.h.crashMu.Lock()
	crash := c.h.crashAfter != nil && c.h.crashAfter(d)
	if crash {
		c.h.crashAfter = nil
		c.h.cancel()
	}
	c.h.crashMu.Unlock()
	if crash {
		return fmt.Errorf("controller crashed (test)")
	}
	return nil
}

// crashWhen arms a crash for the next save that matches.
func (h *harness) crashWhen(f func(*deploy.Deployment) bool) {
	h.crashMu.Lock()
	h.crashAfter = f
	h.crashMu.Unlock()
}

// localRouter drives the in-process router as the agent client would, with the
// agent's If-Match check.
type localRouter struct {
	r  *router.Router
	mu *sync.Mutex
	// races, while positive, makes that many conditional writes lose a race: a
	// write of another party lands just before them.
	races *atomic.Int32
}

func (l localRouter) Service(_ context.Context, name string) (*routing.ServiceStatus, error) {
	st, ok := l.r.Status(name)
	if !ok {
		return nil, nil
	}
	return &st, nil
}

func (l localRouter) Apply(_ context.Context, spec routing.ServiceSpec, ifVersion uint64) (*routing.ServiceStatus, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.r.Status(spec.Name); ok && ifVersion > 0 && l.races.Add(-1) >= 0 {
		if _, err := l.r.Apply(cur.Spec); err != nil {
			return nil, err
		}
	}
	if cur, ok := l.r.Status(spec.Name); ifVersion > 0 && (!ok || cur.Version != ifVersion) {
		return nil, fmt.Errorf("service %s is at version %d, not %d: %w", spec.Name, cur.Version, ifVersion, routing.ErrStale)
	}
	st, err := l.r.Apply(spec)
	if err != nil {
		// The agent answers 400 to a spec its router refuses (a listener's
		// port taken), which its client turns into ErrInvalidSpec.
		return nil, fmt.Errorf("%w: %w", routing.ErrInvalidSpec, err)
	}
	return &st, nil
}

func (l localRouter) Series(_ context.Context, service string, sinceMs int64) ([]metrics.Series, error) {
	s, _ := l.r.Series(service, sinceMs)
	return s, nil
}

// supervisorDrivers serves the process driver from the in-process supervisor.
type supervisorDrivers struct{ sup *supervisor.Supervisor }

func (s supervisorDrivers) Driver(_ context.Context, name string) (runtime.Driver, error) {
	if name != manifest.DriverProcess {
		return nil, fmt.Errorf("driver %s: %w", name, runtime.ErrUnavailable)
	}
	return s.sup, nil
}

// running lists the supervisor's running task ids.
func (h *harness) running() map[string]bool {
	tasks, err := h.sup.List(context.Background(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, t := range tasks {
		if t.State == runtime.TaskRunning {
			out[t.ID] = true
		}
	}
	return out
}
