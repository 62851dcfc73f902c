// Command release measures greenlight's releases under load, with the real binary,
// agent and controller processes on loopback:
//
//   - cutovers: blue-green deployments that replace production, counting failed
//     requests (the target is zero);
//   - rollbacks: `greenlight rollback` during the termination wait, counting failed
//     requests (zero);
//   - bad releases: a release whose every order request fails, rolled back by the
//     error-rate alarm (1 s periods): time from the first bad response a client saw
//     to 100% of production on the original, as a ratio to the period, and the
//     failed responses clients saw meanwhile.
//
// Run from the repository root: go run ./bench/release [-cutovers 100] [-rollbacks 100] [-bad 20]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/loadgen"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func main() {
	cutovers := flag.Int("cutovers", 100, "blue-green cutovers under load")
	rollbacks := flag.Int("rollbacks", 100, "deployments rolled back during the termination wait, under load")
	bad := flag.Int("bad", 20, "bad releases rolled back by the error-rate alarm")
	workers := flag.Int("workers", 8, "concurrent clients (half keep-alive, half a new connection per request)")
	flag.Parse()
	if err := run(*cutovers, *rollbacks, *bad, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "release bench:", err)
		os.Exit(1)
	}
}

func run(cutovers, rollbacks, bad, workers int) error {
	env, err := setup()
	if err != nil {
		return err
	}
	defer env.down()
	fmt.Printf("greenlight release bench: %d cutovers, %d rollbacks, %d bad releases, %d clients, process driver, 2 tasks per revision\n", cutovers, rollbacks, bad, workers)
	if err := env.deploy("a"); err != nil {
		return err
	}
	l := startLoad(env.production, workers)
	start := time.Now()
	for i := range cutovers {
		if err := env.deploy([]string{"b", "a"}[i%2]); err != nil {
			return err
		}
	}
	fmt.Printf("cutovers:  %4d in %6s  requests %8d  failed %d\n", cutovers, time.Since(start).Round(time.Second), l.Total(), l.Failed())
	if l.Failed() > 0 {
		fmt.Println("  ", l)
	}
	l.Reset()
	start = time.Now()
	for i := range rollbacks {
		if err := env.deploy([]string{"b", "a"}[i%2]); err != nil {
			return err
		}
		if err := env.cli("rollback", "--reason", "bench"); err != nil {
			return err
		}
	}
	fmt.Printf("rollbacks: %4d in %6s  requests %8d  failed %d\n", rollbacks, time.Since(start).Round(time.Second), l.Total(), l.Failed())
	if l.Failed() > 0 {
		fmt.Println("  ", l)
	}
	l.Stop()
	if bad > 0 {
		return env.badReleases(bad, workers)
	}
	return nil
}

// env is a project with one deployment group, revisions of the example service
// and the greenlight binary.
type env struct {
	dir        string
	binary     string
	production string
	revisions  map[string]string
}

const definition = `version: 1
pipeline:
  name: bench
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Deploy
      actions:
        - {name: Deploy, category: Deploy, provider: CodeDeployToECS, input_artifacts: [src], configuration: {ApplicationName: web, DeploymentGroupName: production}}
services:
  web:
    driver: process
    desired_count: 2
    listeners: {production: "PROD"}
    health_check: {path: /health, interval: 250ms, timeout: 200ms, healthy_threshold: 2, unhealthy_threshold: 2, matcher: "200"}
    deregistration_delay: 2s
    process: {command: [./orders-service]}
applications:
  web:
    deployment_groups:
      production:
        service: web
        termination_wait: 1h
        auto_rollback: {enabled: true, events: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST]}
        alarms: {enabled: true, names: [error-rate], on_existing_alarm: ignore}
alarms:
  error-rate:
    metric_queries:
      - {id: errors, metric_name: HTTPCode_Target_5XX_Count, stat: Sum}
      - {id: requests, metric_name: RequestCount, stat: Sum}
      - {id: rate, expression: "100 * errors / requests", return_data: true}
    period: 1
    evaluation_periods: 1
    datapoints_to_alarm: 1
    threshold: 5
    comparison_operator: GreaterThanThreshold
    treat_missing_data: notBreaching
`

const appspec = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo: {ContainerName: api, ContainerPort: 3000}
`

func setup() (*env, error) {
	dir, err := os.MkdirTemp("", "greenlight-release-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, binary: filepath.Join(dir, "greenlight"), revisions: map[string]string{}}
	if err := gobuild.Build(context.Background(), "./cmd/greenlight", e.binary, gobuild.Options{}); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.production = ln.Addr().String()
	ln.Close()
	if err := os.WriteFile(filepath.Join(dir, "greenlight.yaml"), []byte(strings.ReplaceAll(definition, "PROD", e.production)), 0o644); err != nil {
		return nil, err
	}
	for version, failRate := range map[string]string{"a": "0", "b": "0", "bad": "1"} {
		if err := e.buildRevision(version, failRate); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *env) buildRevision(version, failRate string) error {
	dir := filepath.Join(e.dir, "revisions", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := gobuild.Build(context.Background(), ".", filepath.Join(dir, "orders-service"), gobuild.Options{Dir: "examples/orders-service", Version: version, Static: true}); err != nil {
		return err
	}
	taskdef := fmt.Sprintf(`{"family": "web", "containerDefinitions": [{"name": "api", "image": "orders-service:%s",
		"portMappings": [{"containerPort": 3000}], "environment": [{"name": "FAIL_RATE", "value": %q}]}]}`, version, failRate)
	if err := os.WriteFile(filepath.Join(dir, "taskdef.json"), []byte(taskdef), 0o644); err != nil {
		return err
	}
	e.revisions[version] = dir
	return os.WriteFile(filepath.Join(dir, "appspec.yaml"), []byte(appspec), 0o644)
}

func (e *env) cli(args ...string) error {
	cmd := exec.Command(e.binary, append([]string{"-f", filepath.Join(e.dir, "greenlight.yaml")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("greenlight %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (e *env) deploy(version string) error {
	dir := e.revisions[version]
	return e.cli("deploy", "--taskdef", filepath.Join(dir, "taskdef.json"), "--appspec", filepath.Join(dir, "appspec.yaml"))
}

func (e *env) down() {
	_ = e.cli("down")
	os.RemoveAll(e.dir)
}

// badReleases deploys the failing revision n times and measures each rollback.
func (e *env) badReleases(n, workers int) error {
	db, err := store.Open(context.Background(), filepath.Join(e.dir, ".greenlight", "state.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	st := db.Deployments()
	var restores []time.Duration
	var failedTotal int64
	for i := range n {
		l := startLoad(e.production, workers)
		started := time.Now()
		// The deploy command returns once production serves the release (or it is
		// rolled back already); the alarm rolls it back within a few periods.
		_ = e.deploy("bad") // fails: the alarm rolls it back
		d, err := waitRolledBack(st, 30*time.Second)
		if err != nil {
			l.Stop()
			return fmt.Errorf("bad release %d: %w", i+1, err)
		}
		rb, err := st.Deployment(context.Background(), d.RolledBackBy)
		if err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
		l.Stop()
		first := l.FirstFailure()
		if first.IsZero() || first.Before(started) {
			return fmt.Errorf("bad release %d: no failed response seen", i+1)
		}
		restore := rb.Rollback.RestoredAt.Sub(first)
		restores = append(restores, restore)
		failedTotal += l.Failed()
		fmt.Printf("bad release %2d: first bad response -> production 100%% original in %4dms (alarm detection %4dms, ALARM -> restored %3dms), failed responses %d of %d\n",
			i+1, restore.Milliseconds(), rb.Rollback.Detection.D().Milliseconds(), rb.Rollback.Restore.D().Milliseconds(), l.Failed(), l.Total())
		if err := e.deploy([]string{"b", "a"}[i%2]); err != nil { // a good release between bad ones
			return err
		}
	}
	sort.Slice(restores, func(i, j int) bool { return restores[i] < restores[j] })
	median, worst := restores[len(restores)/2], restores[len(restores)-1]
	fmt.Printf("bad releases: %d, first bad response -> 100%% original: median %dms (%.2f x period), worst %dms (%.2f x period), failed responses %d (%.0f per release)\n",
		n, median.Milliseconds(), median.Seconds(), worst.Milliseconds(), worst.Seconds(), failedTotal, float64(failedTotal)/float64(n))
	return nil
}

func waitRolledBack(st deploy.Store, within time.Duration) (*deploy.Deployment, error) {
	deadline := time.Now().Add(within)
	for {
		d, err := latest(st)
		if err != nil {
			return nil, err
		}
		if d.RolledBackBy != "" && d.Rollback != nil && !d.Rollback.RestoredAt.IsZero() {
			return d, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s was not rolled back: %s %s", d.ID, d.Status, d.ErrorMessage)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func latest(st deploy.Store) (*deploy.Deployment, error) {
	ds, err := st.LatestDeployments(context.Background(), "web", 5)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.Kind == deploy.KindBlueGreen {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no deployment")
}

func startLoad(addr string, workers int) *loadgen.Load {
	return loadgen.Start("http://"+addr+"/orders", loadgen.Options{Workers: workers, NewConnections: true})
}
