package awsrender

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

const (
	// maxLambdaTimeout is Lambda's limit on a function's timeout, in seconds.
	maxLambdaTimeout = 900
	// HookReserveSeconds is how much longer a hook function may run than its hook's
	// timeout: the time it keeps to report the result to CodeDeploy.
	HookReserveSeconds = 10
)

var lambdaName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// deploymentGroups renders every deployment group and the hook functions their
// appspecs name.
func (r *renderer) deploymentGroups() (map[string]DeploymentGroup, map[string]Hook, error) {
	groups, hooks := map[string]DeploymentGroup{}, map[string]Hook{}
	for _, appName := range slices.Sorted(maps.Keys(r.def.Applications)) {
		app := r.def.Applications[appName]
		for _, name := range slices.Sorted(maps.Keys(app.DeploymentGroups)) {
			g := app.DeploymentGroups[name]
			groups[appName+"/"+name] = r.deploymentGroup(g)
			if err := r.hooks(g, hooks); err != nil {
				return nil, nil, err
			}
		}
	}
	return groups, hooks, nil
}

func (r *renderer) deploymentGroup(g *manifest.DeploymentGroup) DeploymentGroup {
	field := fmt.Sprintf("applications.%s.deployment_groups.%s", g.Application, g.Name)
	out := DeploymentGroup{
		Application: g.Application, Name: g.Name, Service: g.Service,
		DeploymentConfig:         g.DeploymentConfig,
		ActionOnTimeout:          g.DeploymentReady.ActionOnTimeout,
		TerminationWaitInMinutes: r.minutes(g.Pos, field+".termination_wait", g.TerminationWait.D()),
		AutoRollbackEnabled:      g.AutoRollback.Enabled,
		AutoRollbackEvents:       nonNil(g.AutoRollback.Events),
		AlarmsEnabled:            g.Alarms.Enabled,
		Alarms:                   nonNil(g.Alarms.Names),
	}
	switch wait := g.DeploymentReady.WaitTime.D(); {
	case out.ActionOnTimeout == manifest.ReadyStop:
		out.WaitTimeInMinutes = r.minutes(g.Pos, field+".deployment_ready.wait_time", wait)
	case wait > 0:
		r.findings.add(g.Pos, field+".deployment_ready.wait_time", Changed,
			"CodeDeploy reroutes traffic at once with CONTINUE_DEPLOYMENT; its wait time applies to STOP_DEPLOYMENT only, so the %s wait is not rendered", wait)
	}
	if g.BakeTime != nil || (g.Alarms.Enabled && len(g.Alarms.Names) > 0) {
		r.findings.add(g.Pos, field+".bake_time", Changed,
			"CodeDeploy has no bake window: the CodeDeployToECS action succeeds when the deployment does, after the termination wait (%d min), and the alarms can stop it until then", out.TerminationWaitInMinutes)
	}
	if g.Alarms.Enabled && g.Alarms.OnExistingAlarm == manifest.ExistingAlarmIgnore {
		r.findings.add(g.Pos, field+".alarms.on_existing_alarm", LocalOnly,
			"ignore has no CodeDeploy equivalent: CodeDeploy stops a deployment whose alarm is already in ALARM")
	}
	return out
}

// minutes rounds a wait up to CodeDeploy's whole minutes, reporting the change.
func (r *renderer) minutes(pos manifest.Pos, field string, d time.Duration) int {
	m := ceilMinutes(d)
	if d%time.Minute != 0 {
		r.findings.add(pos, field, Changed, "%s is not a whole number of minutes (CodeDeploy counts minutes); rendered as %d", d, m)
	}
	return m
}

// hooks renders the group's hook commands as Lambda functions named as in the
// appspec; an HTTP hook has no AWS equivalent.
func (r *renderer) hooks(g *manifest.DeploymentGroup, out map[string]Hook) error {
	events, err := r.hookEvents(g)
	if err != nil {
		return err
	}
	for _, fn := range slices.Sorted(maps.Keys(g.Hooks)) {
		h := g.Hooks[fn]
		field := fmt.Sprintf("applications.%s.deployment_groups.%s.hooks.%s", g.Application, g.Name, fn)
		if !lambdaName.MatchString(fn) {
			return fmt.Errorf("%s: %s: %q is not a Lambda function name (1 to 64 letters, digits, - and _)", h.Pos, field, fn)
		}
		if h.HTTP != "" {
			r.findings.add(h.Pos, field+".http", LocalOnly,
				"an HTTP hook posts to %s from this machine; on AWS CodeDeploy invokes a Lambda function %s, which the stack does not create", h.HTTP, fn)
			continue
		}
		hook := Hook{Command: h.Command, TimeoutSeconds: r.hookTimeout(h, field), DeploymentGroup: g.Application + "/" + g.Name}
		if len(events[fn]) == 1 {
			hook.LifecycleEvent = events[fn][0]
		}
		out[fn] = hook
		r.findings.add(h.Pos, field+".command", Changed,
			"a local command; on AWS the Lambda function %s runs it from the hook package (deploy/aws/lambda), with GREENLIGHT_TEST_URL and GREENLIGHT_PRODUCTION_URL on the load balancer", fn)
	}
	return nil
}

// hookEvents maps each function of the group's appspec to the events it is named for.
func (r *renderer) hookEvents(g *manifest.DeploymentGroup) (map[string][]string, error) {
	app, err := r.appSpecFor(g)
	if err != nil || app == nil {
		return nil, err
	}
	events := map[string][]string{}
	for _, h := range app.Hooks {
		events[h.Function] = append(events[h.Function], h.Event)
	}
	return events, nil
}

func (r *renderer) hookTimeout(h *manifest.Hook, field string) int {
	secs := int((h.Timeout.D() + time.Second - 1) / time.Second)
	if limit := maxLambdaTimeout - HookReserveSeconds; secs > limit {
		r.findings.add(h.Pos, field+".timeout", Changed,
			"%s is longer than a Lambda function runs (15 minutes, %ds kept to report); rendered as %ds", h.Timeout.D(), HookReserveSeconds, limit)
		return limit
	}
	return secs
}

// deploymentConfigs renders the custom deployment configs; CodeDeploy counts
// canary and linear intervals in minutes.
func (r *renderer) deploymentConfigs() map[string]DeploymentConfig {
	out := map[string]DeploymentConfig{}
	for _, name := range slices.Sorted(maps.Keys(r.def.DeploymentConfigs)) {
		c := r.def.DeploymentConfigs[name]
		dc := DeploymentConfig{Type: c.Type, Percentage: c.Percentage}
		if c.Type != manifest.TrafficAllAtOnce {
			dc.IntervalInMinutes = r.minutes(c.Pos, "deployment_configs."+name+".interval", c.Interval.D())
		}
		out[name] = dc
	}
	return out
}
