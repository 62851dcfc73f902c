package manifest

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

func (d *decoder) applications(n *node) map[string]*Application {
	out := map[string]*Application{}
	d.mapOf(n, "applications", func(name string, keyPos Pos, v *node) {
		app := &Application{Name: name, Pos: keyPos, DeploymentGroups: map[string]*DeploymentGroup{}}
		d.object(v, "application "+quote(name), app,
			req("deployment_groups", func(v *node) {
				d.mapOf(v, "deployment_groups", func(group string, keyPos Pos, v *node) {
					app.DeploymentGroups[group] = d.deploymentGroup(name, group, keyPos, v)
				})
			}),
		)
		out[name] = app
	})
	return out
}

// maxWait is CodeDeploy's limit for the ready wait and the termination wait.
const maxWait = 48 * time.Hour

func (d *decoder) deploymentGroup(app, name string, keyPos Pos, n *node) *DeploymentGroup {
	g := &DeploymentGroup{
		Application: app, Name: name, Pos: keyPos,
		DeploymentConfig: "CodeDeployDefault.ECSAllAtOnce",
		DeploymentReady:  DeploymentReady{ActionOnTimeout: ReadyContinue},
		TerminationWait:  Duration(5 * time.Minute),
		Alarms:           AlarmConfig{OnExistingAlarm: ExistingAlarmBlock},
	}
	d.object(n, "deployment group "+quote(name), g,
		req("service", func(v *node) { g.Service, _ = d.name(v, "service") }),
		opt("deployment_config", func(v *node) { g.DeploymentConfig, _ = d.name(v, "deployment_config") }),
		opt("deployment_ready", func(v *node) { d.deploymentReady(v, &g.DeploymentReady) }),
		opt("termination_wait", func(v *node) { g.TerminationWait, _ = d.durationIn(v, "termination_wait", 0, maxWait) }),
		opt("bake_time", func(v *node) {
			if bake, ok := d.durationIn(v, "bake_time", 0, maxWait); ok {
				g.BakeTime = &bake
			}
		}),
		opt("auto_rollback", func(v *node) { d.autoRollback(v, &g.AutoRollback) }),
		opt("alarms", func(v *node) { d.alarmConfig(v, &g.Alarms) }),
		opt("task_definition_template", func(v *node) { g.TaskDefinitionTemplate, _ = d.name(v, "task_definition_template") }),
		opt("hooks", func(v *node) {
			g.Hooks = map[string]*Hook{}
			d.mapOf(v, "hooks", func(fn string, keyPos Pos, v *node) { g.Hooks[fn] = d.hook(fn, keyPos, v) })
		}),
	)
	return g
}

func (d *decoder) deploymentReady(n *node, r *DeploymentReady) {
	d.object(n, "deployment_ready", r,
		opt("action_on_timeout", func(v *node) {
			r.ActionOnTimeout, _ = d.enum(v, "action_on_timeout", ReadyContinue, ReadyStop)
		}),
		opt("wait_time", func(v *node) { r.WaitTime, _ = d.durationIn(v, "wait_time", 0, maxWait) }),
	)
	if n.kind == kindMap && r.ActionOnTimeout == ReadyStop && r.WaitTime == 0 {
		d.errorf(n.pos, "deployment_ready: STOP_DEPLOYMENT needs a wait_time: how long to wait for `greenlight deploy continue` before the deployment stops")
	}
	// CodeDeploy's waitTimeInMinutes "applies only to the STOP_DEPLOYMENT option":
	// with CONTINUE_DEPLOYMENT traffic reroutes as soon as the replacement is ready.
	if r.ActionOnTimeout != ReadyStop && r.WaitTime > 0 {
		d.warnf(d.at(r, "wait_time", n.pos), "wait_time: %s is ignored with %s, which reroutes traffic at once (the wait applies to %s only)",
			fmtDuration(r.WaitTime.D()), ReadyContinue, ReadyStop)
	}
}

var rollbackEvents = []string{RollbackOnFailure, RollbackOnAlarm, RollbackOnRequest}

// autoRollback: enabled defaults to true when events are listed.
func (d *decoder) autoRollback(n *node, ar *AutoRollback) {
	enabledSet := false
	d.object(n, "auto_rollback", ar,
		opt("enabled", func(v *node) { ar.Enabled, enabledSet = d.boolean(v, "enabled") }),
		opt("events", func(v *node) {
			d.list(v, "events", func(_ int, item *node) {
				e, ok := d.enum(item, "events", rollbackEvents...)
				if ok && slices.Contains(ar.Events, e) {
					d.errorf(item.pos, "events: %s is listed twice", e)
				} else if ok {
					ar.Events = append(ar.Events, e)
				}
			})
		}),
	)
	if !enabledSet && len(ar.Events) > 0 {
		ar.Enabled = true
	}
	if n.kind == kindMap && ar.Enabled && len(ar.Events) == 0 && n.get("events") == nil {
		d.errorf(n.pos, "auto_rollback: enabled needs events (allowed: %s)", strings.Join(rollbackEvents, ", "))
	}
}

// maxAlarms is CodeDeploy's limit of alarms per deployment group.
const maxAlarms = 10

// alarmConfig: enabled defaults to true when alarm names are listed.
func (d *decoder) alarmConfig(n *node, ac *AlarmConfig) {
	enabledSet := false
	d.object(n, "alarms", ac,
		opt("enabled", func(v *node) { ac.Enabled, enabledSet = d.boolean(v, "enabled") }),
		opt("names", func(v *node) {
			ac.Names = d.strings(v, "names", ac)
			if len(ac.Names) > maxAlarms {
				d.errorf(v.pos, "names: %d alarms listed; a deployment group takes at most %d", len(ac.Names), maxAlarms)
			}
		}),
		opt("on_existing_alarm", func(v *node) {
			ac.OnExistingAlarm, _ = d.enum(v, "on_existing_alarm", ExistingAlarmBlock, ExistingAlarmIgnore)
		}),
	)
	if !enabledSet && len(ac.Names) > 0 {
		ac.Enabled = true
	}
}

func (d *decoder) hook(fn string, keyPos Pos, n *node) *Hook {
	h := &Hook{Name: fn, Pos: keyPos, Timeout: Duration(60 * time.Second)}
	d.object(n, "hook "+quote(fn), h,
		opt("command", func(v *node) {
			h.Command = d.strings(v, "command", nil)
			if v.kind == kindSeq && len(v.items) == 0 {
				d.errorf(v.pos, "command: must name a program to run")
			}
		}),
		opt("http", func(v *node) {
			if s, ok := d.name(v, "http"); ok {
				if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					d.errorf(v.pos, "http: %q is not an http:// or https:// URL", clip(s))
				}
				h.HTTP = s
			}
		}),
		opt("timeout", func(v *node) { h.Timeout, _ = d.durationIn(v, "timeout", time.Second, time.Hour) }),
	)
	if n.kind == kindMap && (n.get("command") == nil) == (n.get("http") == nil) {
		d.errorf(keyPos, "hook %q: set exactly one of command or http", fn)
	}
	return h
}

func (d *decoder) validateApplications(def *Definition) {
	for _, appName := range slices.Sorted(maps.Keys(def.Applications)) {
		app := def.Applications[appName]
		for _, name := range slices.Sorted(maps.Keys(app.DeploymentGroups)) {
			d.validateDeploymentGroup(def, app.DeploymentGroups[name])
		}
	}
}

func (d *decoder) validateDeploymentGroup(def *Definition, g *DeploymentGroup) {
	if _, ok := def.Services[g.Service]; g.Service != "" && !ok {
		d.errorf(d.at(g, "service", g.Pos), "service: unknown %q (allowed: %s)", g.Service, allowedNames(slices.Sorted(maps.Keys(def.Services)), "none; define it under services"))
	}
	if _, ok := def.DeploymentConfig(g.DeploymentConfig); g.DeploymentConfig != "" && !ok {
		d.errorf(d.at(g, "deployment_config", g.Pos), "deployment_config: unknown %q (allowed: %s)", clip(g.DeploymentConfig), allowedDeploymentConfigs(def))
	}
	seen := map[string]bool{}
	for i, name := range g.Alarms.Names {
		p := d.at(&g.Alarms, "names["+itoa(i)+"]", g.Pos)
		switch _, ok := def.Alarms[name]; {
		case seen[name]:
			d.errorf(p, "names: alarm %q is listed twice", name)
		case !ok:
			d.errorf(p, "names: unknown alarm %q (allowed: %s)", name, allowedNames(slices.Sorted(maps.Keys(def.Alarms)), "none; define it under alarms"))
		}
		seen[name] = true
	}
}

// allowedNames lists names for a message, or says ifNone when there are none.
func allowedNames(names []string, ifNone string) string {
	if len(names) == 0 {
		return ifNone
	}
	return strings.Join(names, ", ")
}

// builtinConfigOrder lists CodeDeploy's ECS configs as AWS documents them.
var builtinConfigOrder = []string{
	"CodeDeployDefault.ECSAllAtOnce",
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
	"CodeDeployDefault.ECSCanary10Percent5Minutes",
	"CodeDeployDefault.ECSCanary10Percent15Minutes",
}

func allowedDeploymentConfigs(def *Definition) string {
	names := slices.Clone(builtinConfigOrder)
	if len(def.DeploymentConfigs) == 0 {
		return strings.Join(names, ", ") + ", or a name under deployment_configs"
	}
	return strings.Join(append(names, slices.Sorted(maps.Keys(def.DeploymentConfigs))...), ", ")
}

func (d *decoder) deploymentConfigs(n *node) map[string]*DeploymentConfig {
	out := map[string]*DeploymentConfig{}
	d.mapOf(n, "deployment_configs", func(name string, keyPos Pos, v *node) {
		if strings.HasPrefix(name, "CodeDeployDefault.") {
			d.errorf(keyPos, "deployment_configs: %q: names starting with CodeDeployDefault. are CodeDeploy's own", name)
		}
		out[name] = d.deploymentConfig(name, keyPos, v)
	})
	return out
}

func (d *decoder) deploymentConfig(name string, keyPos Pos, n *node) *DeploymentConfig {
	c := &DeploymentConfig{Name: name, Pos: keyPos}
	d.object(n, "deployment config "+quote(name), c,
		req("type", func(v *node) {
			c.Type, _ = d.enum(v, "type", TrafficAllAtOnce, TrafficTimeBasedCanary, TrafficTimeBasedLinear)
		}),
		opt("percentage", func(v *node) { c.Percentage, _ = d.intIn(v, "percentage", 1, 99) }),
		opt("interval", func(v *node) {
			c.Interval, _ = d.durationIn(v, "interval", time.Second, maxWait)
			if c.Interval.D()%time.Second != 0 {
				d.errorf(v.pos, "interval: %s is not a whole number of seconds", c.Interval.D())
			}
		}),
	)
	if n.kind != kindMap {
		return c
	}
	switch c.Type {
	case TrafficAllAtOnce:
		for _, key := range []string{"percentage", "interval"} {
			if n.get(key) != nil {
				d.errorf(d.at(c, key, keyPos), "%s: not used by AllAtOnce (only by TimeBasedCanary and TimeBasedLinear)", key)
			}
		}
	case TrafficTimeBasedCanary, TrafficTimeBasedLinear:
		for _, key := range []string{"percentage", "interval"} {
			if n.get(key) == nil {
				d.errorf(keyPos, "deployment config %q: %s needs %s", name, c.Type, key)
			}
		}
	}
	return c
}
