package stack_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// planJSON is the part of `terraform show -json` the parity check reads.
type planJSON struct {
	PlannedValues struct {
		RootModule planModule `json:"root_module"`
	} `json:"planned_values"`
}

type planModule struct {
	Address      string         `json:"address"`
	Resources    []planResource `json:"resources"`
	ChildModules []planModule   `json:"child_modules"`
}

type planResource struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Index  any            `json:"index"`
	Values map[string]any `json:"values"`
}

func (p planJSON) module(address string) planModule {
	for _, m := range p.PlannedValues.RootModule.ChildModules {
		if m.Address == address {
			return m
		}
	}
	return planModule{}
}

// resources returns the planned resources of type typ by index ("" when single).
func (m planModule) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range m.Resources {
		if r.Type == typ {
			out[fmt.Sprint(index(r.Index))] = r.Values
		}
	}
	return out
}

// named returns the planned resources of type typ and name by index.
func (m planModule) named(typ, name string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range m.Resources {
		if r.Type == typ && r.Name == name {
			out[fmt.Sprint(index(r.Index))] = r.Values
		}
	}
	return out
}

func index(i any) any {
	if i == nil {
		return ""
	}
	return i
}

// checkParity compares the planned stack with the definition it was rendered
// from, field by field: what greenlight.yaml says is what AWS gets.
func checkParity(t *testing.T, def *manifest.Definition, m planModule) {
	if len(m.Resources) == 0 {
		t.Fatal("the plan has no module.greenlight resources")
	}
	checkPipeline(t, def, one(t, m.resources("aws_codepipeline")))
	checkTriggers(t, def, one(t, m.resources("aws_codepipeline")))
	checkBuildProjects(t, def, m.resources("aws_codebuild_project"))
	checkDeploymentGroups(t, def, m.resources("aws_codedeploy_deployment_group"))
	checkAlarms(t, def, m.resources("aws_cloudwatch_metric_alarm"))
	checkHooks(t, def, m.named("aws_lambda_function", "hook"))
	checkNotifications(t, def, m.named("aws_codestarnotifications_notification_rule", "rule"))
	checkServices(t, def, m)
}

func one(t *testing.T, rs map[string]map[string]any) map[string]any {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("%d resources, want 1", len(rs))
	}
	for _, v := range rs {
		return v
	}
	return nil
}

// providerOnAWS: a local Git source is a CodeStar connection source on AWS.
func providerOnAWS(p string) string {
	if p == manifest.ProviderGit {
		return manifest.ProviderCodeStar
	}
	return p
}

func checkPipeline(t *testing.T, def *manifest.Definition, p map[string]any) {
	if p["name"] != def.Pipeline.Name || p["execution_mode"] != def.Pipeline.ExecutionMode || p["pipeline_type"] != "V2" {
		t.Errorf("pipeline %v %v %v, want %s %s V2", p["name"], p["execution_mode"], p["pipeline_type"], def.Pipeline.Name, def.Pipeline.ExecutionMode)
	}
	stages := list(p["stage"])
	if len(stages) != len(def.Pipeline.Stages) {
		t.Fatalf("%d stages planned, greenlight.yaml has %d", len(stages), len(def.Pipeline.Stages))
	}
	for i, s := range def.Pipeline.Stages {
		planned := stages[i].(map[string]any)
		actions := list(planned["action"])
		if planned["name"] != s.Name || len(actions) != len(s.Actions) {
			t.Errorf("stage %d: %v with %d actions, want %s with %d", i, planned["name"], len(actions), s.Name, len(s.Actions))
			continue
		}
		for j, a := range s.Actions {
			checkAction(t, s.Name, a, actions[j].(map[string]any))
		}
	}
}

func checkAction(t *testing.T, stage string, a *manifest.Action, got map[string]any) {
	want := map[string]any{
		"name": a.Name, "category": a.Category, "owner": a.Owner, "provider": providerOnAWS(a.Provider),
		"version": a.Version, "run_order": float64(a.RunOrder),
		"input_artifacts": strs(a.InputArtifacts), "output_artifacts": strs(a.OutputArtifacts),
	}
	if a.Namespace != "" {
		want["namespace"] = a.Namespace
	}
	for key, w := range want {
		if g := normal(got[key]); !reflect.DeepEqual(g, w) {
			t.Errorf("%s.%s: %s = %#v, greenlight.yaml says %#v", stage, a.Name, key, g, w)
		}
	}
	config, known := got["configuration"].(map[string]any)
	if !known {
		// It holds values only apply knows (the connection's ARN, a topic's, the
		// load balancer's name); terraform test checks those against mock values.
		return
	}
	for key, v := range a.Configuration {
		if config[key] != v {
			t.Errorf("%s.%s: configuration.%s = %v, greenlight.yaml says %q", stage, a.Name, key, config[key], v)
		}
	}
}

func strs(s []string) []any {
	out := []any{}
	for _, v := range s {
		out = append(out, v)
	}
	return out
}

// normal turns a null list into an empty one.
func normal(v any) any {
	if v == nil {
		return []any{}
	}
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func minutes(d manifest.Duration) float64 {
	return float64((d.D() + time.Minute - 1) / time.Minute)
}

func checkBuildProjects(t *testing.T, def *manifest.Definition, planned map[string]map[string]any) {
	if got, want := slices.Sorted(maps.Keys(planned)), slices.Sorted(maps.Keys(def.BuildProjects)); !slices.Equal(got, want) {
		t.Fatalf("build projects %v, greenlight.yaml has %v", got, want)
	}
	for name, bp := range def.BuildProjects {
		p := planned[name]
		source := list(p["source"])[0].(map[string]any)
		if p["name"] != name || p["build_timeout"] != minutes(bp.Timeout) || source["buildspec"] != bp.Buildspec {
			t.Errorf("build project %s: name %v, timeout %v, buildspec %v; greenlight.yaml: %s, %v minutes, %s", name, p["name"], p["build_timeout"], source["buildspec"], name, minutes(bp.Timeout), bp.Buildspec)
		}
		env := map[string]any{}
		for _, v := range list(list(p["environment"])[0].(map[string]any)["environment_variable"]) {
			env[v.(map[string]any)["name"].(string)] = v.(map[string]any)["type"]
		}
		for _, v := range bp.EnvironmentVariables {
			if env[v.Name] != v.Type {
				t.Errorf("build project %s: variable %s has type %v, greenlight.yaml says %s", name, v.Name, env[v.Name], v.Type)
			}
		}
	}
}

func checkDeploymentGroups(t *testing.T, def *manifest.Definition, planned map[string]map[string]any) {
	for appName, app := range def.Applications {
		for name, g := range app.DeploymentGroups {
			p, ok := planned[appName+"/"+name]
			if !ok {
				t.Errorf("deployment group %s/%s is not planned", appName, name)
				continue
			}
			bg := list(p["blue_green_deployment_config"])[0].(map[string]any)
			ready := list(bg["deployment_ready_option"])[0].(map[string]any)
			term := list(bg["terminate_blue_instances_on_deployment_success"])[0].(map[string]any)
			rollback := list(p["auto_rollback_configuration"])[0].(map[string]any)
			alarms := list(p["alarm_configuration"])[0].(map[string]any)
			got := []any{p["app_name"], p["deployment_group_name"], p["deployment_config_name"], ready["action_on_timeout"], term["termination_wait_time_in_minutes"], rollback["enabled"], sorted(rollback["events"]), alarms["enabled"], sorted(alarms["alarms"])}
			want := []any{appName, name, g.DeploymentConfig, g.DeploymentReady.ActionOnTimeout, minutes(g.TerminationWait), g.AutoRollback.Enabled, sortedStrings(g.AutoRollback.Events), g.Alarms.Enabled, sortedStrings(g.Alarms.Names)}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("deployment group %s/%s:\n planned %v\n greenlight.yaml %v", appName, name, got, want)
			}
		}
	}
}

func checkAlarms(t *testing.T, def *manifest.Definition, planned map[string]map[string]any) {
	if got, want := slices.Sorted(maps.Keys(planned)), slices.Sorted(maps.Keys(def.Alarms)); !slices.Equal(got, want) {
		t.Fatalf("alarms %v, greenlight.yaml has %v", got, want)
	}
	for name, a := range def.Alarms {
		p := planned[name]
		got := []any{p["alarm_name"], p["threshold"], p["comparison_operator"], p["evaluation_periods"], p["datapoints_to_alarm"], p["treat_missing_data"], p["metric_name"], p["extended_statistic"], p["statistic"]}
		want := []any{name, a.Threshold, a.ComparisonOperator, float64(a.EvaluationPeriods), float64(a.DatapointsToAlarm), a.TreatMissingData, orNil(a.MetricName), orNil(a.ExtendedStatistic), orNil(a.Statistic)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("alarm %s:\n planned %v\n greenlight.yaml %v", name, got, want)
		}
		checkMetricQueries(t, name, a, list(p["metric_query"]))
	}
}

func checkMetricQueries(t *testing.T, alarm string, a *manifest.Alarm, planned []any) {
	got := map[string]string{}
	for _, q := range planned {
		q := q.(map[string]any)
		expression, _ := q["expression"].(string)
		desc := fmt.Sprintf("expression=%s return=%v", expression, q["return_data"])
		if m := list(q["metric"]); len(m) == 1 {
			mm := m[0].(map[string]any)
			desc += fmt.Sprintf(" metric=%v stat=%v", mm["metric_name"], mm["stat"])
		}
		got[q["id"].(string)] = desc
	}
	want := map[string]string{}
	for _, q := range a.MetricQueries {
		desc := fmt.Sprintf("expression=%s return=%v", q.Expression, q.ReturnData)
		if q.MetricName != "" {
			desc += fmt.Sprintf(" metric=%s stat=%s", q.MetricName, q.Stat)
		}
		want[q.ID] = desc
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alarm %s metric queries:\n planned %v\n greenlight.yaml %v", alarm, got, want)
	}
}

// checkHooks: one function per hook, running its command. The functions'
// environment waits for the load balancer's name, so the plan shows the command
// in the description; terraform test checks the environment.
func checkHooks(t *testing.T, def *manifest.Definition, planned map[string]map[string]any) {
	want := map[string]string{}
	for _, app := range def.Applications {
		for _, g := range app.DeploymentGroups {
			for fn, h := range g.Hooks {
				want[fn] = strings.Join(h.Command, " ")
			}
		}
	}
	got := map[string]string{}
	for fn, p := range planned {
		desc, _ := p["description"].(string)
		_, command, _ := strings.Cut(desc, ": ")
		got[fn] = command
		if p["function_name"] != fn || p["runtime"] != "provided.al2023" || !reflect.DeepEqual(p["architectures"], []any{"arm64"}) {
			t.Errorf("hook %s: name %v, runtime %v, architectures %v", fn, p["function_name"], p["runtime"], p["architectures"])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hook commands:\n planned %v\n greenlight.yaml %v", got, want)
	}
}

func checkServices(t *testing.T, def *manifest.Definition, m planModule) {
	services := map[string]map[string]any{}
	for _, typ := range []string{"aws_ecs_service"} {
		for k, v := range m.resources(typ) {
			services[k] = v
		}
	}
	if got, want := slices.Sorted(maps.Keys(services)), slices.Sorted(maps.Keys(def.Services)); !slices.Equal(got, want) {
		t.Fatalf("services %v, greenlight.yaml has %v", got, want)
	}
	for name, s := range def.Services {
		if services[name]["desired_count"] != float64(s.DesiredCount) {
			t.Errorf("service %s: desired_count %v, greenlight.yaml says %d", name, services[name]["desired_count"], s.DesiredCount)
		}
	}
	for name, tg := range m.resources("aws_lb_target_group") {
		hc := list(tg["health_check"])[0].(map[string]any)
		prod := def.Services["orders-service-production"].HealthCheck
		if hc["path"] != prod.Path || hc["matcher"] != prod.Matcher {
			t.Errorf("target group %s: health check %v %v, greenlight.yaml %s %s", name, hc["path"], hc["matcher"], prod.Path, prod.Matcher)
		}
	}
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func sorted(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, x.(string))
	}
	sort.Strings(out)
	return out
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// checkTriggers: every filter of pipeline.triggers, pattern for pattern.
func checkTriggers(t *testing.T, def *manifest.Definition, p map[string]any) {
	planned := list(p["trigger"])
	if len(planned) != len(def.Pipeline.Triggers) {
		t.Fatalf("%d triggers planned, greenlight.yaml has %d", len(planned), len(def.Pipeline.Triggers))
	}
	for i, tr := range def.Pipeline.Triggers {
		g := list(planned[i].(map[string]any)["git_configuration"])[0].(map[string]any)
		if g["source_action_name"] != tr.GitConfiguration.SourceActionName {
			t.Errorf("trigger %d: source action %v, greenlight.yaml %s", i, g["source_action_name"], tr.GitConfiguration.SourceActionName)
		}
		push := list(g["push"])
		if len(push) != len(tr.GitConfiguration.Push) {
			t.Fatalf("trigger %d: %d push filters planned, greenlight.yaml has %d", i, len(push), len(tr.GitConfiguration.Push))
		}
		for j, f := range tr.GitConfiguration.Push {
			got := push[j].(map[string]any)
			for name, want := range map[string]*manifest.FilterCriteria{"branches": f.Branches, "file_paths": f.FilePaths, "tags": f.Tags} {
				if g, w := criteria(got[name]), wantCriteria(want); !reflect.DeepEqual(g, w) {
					t.Errorf("trigger %d push %d %s: planned %v, greenlight.yaml %v", i, j, name, g, w)
				}
			}
		}
		if n := len(list(g["pull_request"])); n != len(tr.GitConfiguration.PullRequest) {
			t.Errorf("trigger %d: %d pull request filters planned, greenlight.yaml has %d", i, n, len(tr.GitConfiguration.PullRequest))
		}
	}
}

// criteria is a planned filter block as "includes|excludes" lists ("" when absent).
func criteria(v any) [2]string {
	blocks := list(v)
	if len(blocks) == 0 {
		return [2]string{}
	}
	b := blocks[0].(map[string]any)
	return [2]string{strings.Join(sorted(b["includes"]), ","), strings.Join(sorted(b["excludes"]), ",")}
}

func wantCriteria(f *manifest.FilterCriteria) [2]string {
	if f == nil {
		return [2]string{}
	}
	return [2]string{strings.Join(sortedStrings(f.Includes), ","), strings.Join(sortedStrings(f.Excludes), ",")}
}

// checkNotifications: each rule's CodePipeline events are a rule on the
// pipeline, with its detail type and status; greenlight's own ids stay out.
func checkNotifications(t *testing.T, def *manifest.Definition, planned map[string]map[string]any) {
	for _, r := range def.Notifications {
		var want []string
		for _, id := range r.EventTypeIDs {
			if strings.HasPrefix(id, "codepipeline-pipeline-") {
				want = append(want, id)
			}
		}
		p, ok := planned[r.Name]
		if !ok {
			t.Errorf("notification rule %s is not planned (planned: %v)", r.Name, slices.Sorted(maps.Keys(planned)))
			continue
		}
		if got := sorted(p["event_type_ids"]); !slices.Equal(got, sortedStrings(want)) || p["detail_type"] != r.DetailType || p["status"] != r.Status {
			t.Errorf("notification rule %s: %v %v %v, greenlight.yaml %v %s %s", r.Name, got, p["detail_type"], p["status"], want, r.DetailType, r.Status)
		}
	}
}
