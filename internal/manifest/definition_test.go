package manifest

import (
	"path/filepath"
	"testing"
	"time"
)

func TestLoadFullDefinition(t *testing.T) {
	def, err := Load("testdata/greenlight.yaml")
	mustNotFail(t, err)

	wantDir, _ := filepath.Abs("testdata")
	if def.Path != "testdata/greenlight.yaml" || def.Dir != wantDir || def.Version != 1 {
		t.Errorf("Path, Dir, Version = %q, %q, %d", def.Path, def.Dir, def.Version)
	}
	p := def.Pipeline
	if p.Name != "orders-service" || p.ExecutionMode != ExecutionModeSuperseded || len(p.Stages) != 6 {
		t.Fatalf("pipeline = %q %q with %d stages", p.Name, p.ExecutionMode, len(p.Stages))
	}
	if v := p.Variables[0]; v.Name != "DeployEnv" || v.DefaultValue != "production" || v.Pos.Line != 7 {
		t.Errorf("variable = %+v", v)
	}

	integration := p.Stages[2].Actions[1]
	if integration.Name != "IntegrationTests" || integration.RunOrder != 2 || integration.Owner != "AWS" || integration.Version != "1" {
		t.Errorf("IntegrationTests = %+v", integration)
	}
	if got := integration.ConfigurationPos["ProjectName"]; got != (Pos{File: "testdata/greenlight.yaml", Line: 37, Column: 26}) {
		t.Errorf("ProjectName written at %v", got)
	}
	if got := p.Stages[3].Actions[0].Configuration["FileName"]; got != "imagedefinitions.json" {
		t.Errorf("ECS FileName = %q", got)
	}
	if got := p.Stages[4].Actions[0].TimeoutInMinutes; got != 60 {
		t.Errorf("approval timeout = %d", got)
	}

	build := def.BuildProjects["orders-service-build"]
	if build.Name != "orders-service-build" || build.Timeout.D() != time.Hour || build.EnvironmentVariables[1].Type != EnvSecretsManager {
		t.Errorf("build project = %+v", build)
	}
	if got := def.BuildProjects["orders-service-test"].Timeout.D(); got != 10*time.Minute {
		t.Errorf(`timeout: "600" = %s, want 10m (numbers are seconds)`, got)
	}
	if got := def.BuildProjects["orders-service-integration"].Timeout.D(); got != time.Hour {
		t.Errorf("default build timeout = %s", got)
	}

	prod := def.Services["orders-service-production"]
	wantHC := HealthCheck{Path: "/health", Interval: Duration(time.Second), Timeout: Duration(500 * time.Millisecond), HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200"}
	if prod.HealthCheck != wantHC || prod.Listeners.Test != "127.0.0.1:8081" || prod.DeregistrationDelay.D() != 5*time.Second {
		t.Errorf("production service = %+v", prod)
	}
	staging := def.Services["orders-service-staging"]
	if staging.HealthCheck != defaultHealthCheck() || staging.DesiredCount != 1 || staging.DeregistrationDelay.D() != 30*time.Second || staging.Driver != DriverProcess {
		t.Errorf("staging service defaults = %+v", staging)
	}

	g, ok := def.DeploymentGroup("orders-service", "production")
	if !ok || g.Application != "orders-service" || g.Name != "production" || g.TaskDefinitionTemplate != "taskdef-template.json" {
		t.Fatalf("production group = %+v", g)
	}
	if !g.AutoRollback.RollsBackOn(RollbackOnAlarm) || g.AutoRollback.RollsBackOn(RollbackOnRequest) || g.TerminationWait.D() != time.Hour {
		t.Errorf("production group = %+v", g)
	}
	if h := g.Hooks["LambdaFunctionToValidateAfterTraffic"]; h.Name != "LambdaFunctionToValidateAfterTraffic" || h.HTTP != "http://127.0.0.1:9000/hook" || h.Timeout.D() != 30*time.Second {
		t.Errorf("hook = %+v", h)
	}
	canary, _ := def.DeploymentGroup("orders-service", "canary")
	if canary.TerminationWait != 0 || canary.DeploymentReady.ActionOnTimeout != ReadyContinue || canary.Alarms.OnExistingAlarm != ExistingAlarmBlock || canary.DeploymentReady.WaitTime.D() != 90*time.Second {
		t.Errorf("canary group: an explicit zero termination_wait must stay zero, defaults must apply: %+v", canary)
	}
	if _, ok := def.DeploymentGroup("orders-service", "nope"); ok {
		t.Error("DeploymentGroup found a group that does not exist")
	}

	if c, ok := def.DeploymentConfig("Canary20Percent5Seconds"); !ok || c.Type != TrafficTimeBasedCanary || c.Percentage != 20 || c.Interval.D() != 5*time.Second {
		t.Errorf("custom config = %+v, %v", c, ok)
	}
	if c, ok := def.DeploymentConfig("CodeDeployDefault.ECSCanary10Percent5Minutes"); !ok || c.Interval.D() != 5*time.Minute {
		t.Errorf("builtin config = %+v, %v", c, ok)
	}

	rate := def.Alarms["orders-error-rate"]
	if rate.Name != "orders-error-rate" || rate.DatapointsToAlarm != 2 || len(rate.MetricQueries) != 3 || !rate.MetricQueries[2].ReturnData {
		t.Errorf("error-rate alarm = %+v", rate)
	}
	latency := def.Alarms["orders-p99-latency"]
	if latency.DatapointsToAlarm != 3 || latency.TreatMissingData != MissingDataMissing || latency.Threshold != 0.5 {
		t.Errorf("latency alarm defaults = %+v", latency)
	}
	if s := def.Secrets.ParameterStore["/orders/api-key"]; s.File != "~/.config/orders/api-key" {
		t.Errorf("secret = %+v", s)
	}
}

func TestCodeDeployDefaults(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(minimal+`services:
  s: {listeners: {production: "127.0.0.1:9000"}}
applications:
  a: {deployment_groups: {g: {service: s}}}
`))
	mustNotFail(t, err)
	g, _ := def.DeploymentGroup("a", "g")
	if g.DeploymentConfig != "CodeDeployDefault.ECSAllAtOnce" || g.TerminationWait.D() != 5*time.Minute || g.AutoRollback.Enabled {
		t.Errorf("group defaults = %+v", g)
	}

	def, err = ParseDefinition("greenlight.yaml", []byte(`version: 1
pipeline:
  name: p
  stages:
    - {name: Source, actions: [{name: S, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}]}
    - {name: Deploy, actions: [{name: D, category: Deploy, provider: CodeDeployToECS, input_artifacts: [src], configuration: {ApplicationName: a, DeploymentGroupName: g}}]}
services:
  s: {listeners: {production: "127.0.0.1:9000"}}
applications:
  a: {deployment_groups: {g: {service: s, alarms: {names: [x]}, auto_rollback: {events: [DEPLOYMENT_FAILURE]}}}}
alarms:
  x: {metric_name: RequestCount, statistic: Sum, period: 1s, evaluation_periods: 1, threshold: 1, comparison_operator: LessThanThreshold}
`))
	mustNotFail(t, err)
	cfg := def.Pipeline.Stages[1].Actions[0].Configuration
	for key, want := range map[string]string{
		"TaskDefinitionTemplatePath": "taskdef.json", "AppSpecTemplatePath": "appspec.yaml",
		"TaskDefinitionTemplateArtifact": "src", "AppSpecTemplateArtifact": "src",
	} {
		if cfg[key] != want {
			t.Errorf("%s = %q, want %q", key, cfg[key], want)
		}
	}
	g, _ = def.DeploymentGroup("a", "g")
	if !g.Alarms.Enabled || !g.AutoRollback.Enabled {
		t.Errorf("listing alarms or rollback events enables them: %+v", g)
	}
	if def.Alarms["x"].Period != 1 {
		t.Errorf("period: 1s = %d", def.Alarms["x"].Period)
	}
}

// minimal is a valid definition of 12 lines; cases append sections from line 13.
const minimal = `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: Src, category: Source, provider: Git, output_artifacts: [src], namespace: Src, configuration: {Repository: .}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: b}}
build_projects:
  b: {}
`

func TestParseDefinitionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "", []string{"greenlight.yaml:1:1: the file is empty; expected a pipeline definition (version: 1, pipeline: ...)"}},
		{"syntax", "version: 1\npipeline: [\n", []string{"greenlight.yaml:2:11: invalid YAML: sequence end token ']' not found"}},
		{"top level", "version: 2\npipline: {}\n", []string{
			`greenlight.yaml:1:1: missing required key "pipeline"`,
			"greenlight.yaml:1:10: version: unsupported 2 (allowed: 1)",
			`greenlight.yaml:2:1: unknown key "pipline" (allowed: version, pipeline, build_projects, services, applications, deployment_configs, alarms, secrets, notifications, webhook, retention)`,
		}},
		{"wrong types", "version: one\npipeline:\n  name: [p]\n  execution_mode: FAST\n  stages: {}\n", []string{
			`greenlight.yaml:1:10: version: expected an integer, got the string "one"`,
			"greenlight.yaml:3:9: name: expected a string, got a list",
			`greenlight.yaml:4:19: execution_mode: unknown "FAST" (allowed: SUPERSEDED, QUEUED, PARALLEL)`,
			"greenlight.yaml:5:11: stages: expected a list, got a mapping",
		}},
		{"one stage", "version: 1\npipeline:\n  name: p\n  stages:\n    - name: Source\n      actions:\n        - {name: S, category: Source, provider: Git, output_artifacts: [s], configuration: {Repository: .}}\n", []string{
			"greenlight.yaml:5:5: stages: a pipeline needs at least two stages, found 1",
		}},
		{"category and provider", `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: S, category: Source, provider: CodeBuild, output_artifacts: [s]}
        - {name: T, category: Build, provider: CodeBuild, input_artifacts: [s], configuration: {ProjectName: b}}
    - name: Build
      actions:
        - {name: B, category: Compile, provider: Make, run_order: 0}
        - {name: G, category: Source, provider: Git, output_artifacts: [g], configuration: {Repository: .}}
build_projects: {b: {}}
`, []string{
			"greenlight.yaml:7:49: provider: CodeBuild is not a Source provider (allowed for Source: Git, CodeStarSourceConnection)",
			"greenlight.yaml:8:31: category: the first stage holds only Source actions, not Build",
			`greenlight.yaml:8:77: input_artifacts: artifact "s" is produced by Source.S, which runs at the same time (run_order 1); give this action a higher run_order or move it to a later stage`,
			`greenlight.yaml:11:31: category: unknown "Compile" (allowed: Source, Build, Test, Deploy, Approval)`,
			`greenlight.yaml:11:50: provider: unknown "Make" (allowed: Git, CodeStarSourceConnection, CodeBuild, ECS, CodeDeployToECS, Manual)`,
			"greenlight.yaml:11:67: run_order: 0 is out of range (allowed: 1 to 999)",
			"greenlight.yaml:12:31: category: Source actions belong in the first stage only",
		}},
		{"names", `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: S, category: Source, provider: Git, output_artifacts: [s], namespace: NS, configuration: {Repository: .}}
        - {name: S, category: Source, provider: Git, output_artifacts: [s], namespace: NS, configuration: {Repository: .}}
    - name: Source
      actions:
        - {name: "bad name", category: Approval, provider: Manual, namespace: codepipeline, configuration: {ExternalEntityLink: "ftp://x"}}
`, []string{
			`greenlight.yaml:8:18: name: action "S" is defined twice`,
			`greenlight.yaml:8:73: output_artifacts: artifact "s" is already produced by Source.S (line 7)`,
			`greenlight.yaml:8:88: namespace: "NS" is already used by Source.S`,
			`greenlight.yaml:9:13: name: stage "Source" is defined twice`,
			`greenlight.yaml:11:18: name: action name "bad name" may hold only letters, digits, ., @, - and _ (at most 100)`,
			`greenlight.yaml:11:79: namespace: "codepipeline" is reserved`,
			`greenlight.yaml:11:129: ExternalEntityLink: "ftp://x" is not an http:// or https:// URL`,
		}},
		// Browsers resolve . and .. out of a URL's path, escaped or not: the
		// console's page of an action named .. would be another page.
		{"dot names", `version: 1
pipeline:
  name: ".."
  stages:
    - name: Source
      actions:
        - {name: ., category: Source, provider: Git, output_artifacts: [s], configuration: {Repository: .}}
        - {name: .a, category: Source, provider: Git, output_artifacts: [t], configuration: {Repository: .}}
    - name: ".."
      actions:
        - {name: "...", category: Approval, provider: Manual}
`, []string{
			`greenlight.yaml:3:9: name: pipeline name ".." is not allowed: browsers remove . and .. from the console's URLs (allowed: any name other than . and ..)`,
			`greenlight.yaml:7:18: name: action name "." is not allowed: browsers remove . and .. from the console's URLs (allowed: letters, digits, ., @, - and _, at most 100, other than . and ..)`,
			`greenlight.yaml:9:13: name: stage name ".." is not allowed: browsers remove . and .. from the console's URLs (allowed: letters, digits, ., @, - and _, at most 100, other than . and ..)`,
		}},
		{"artifacts", `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: S, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Test
      actions:
        - {name: A, category: Test, provider: CodeBuild, input_artifacts: [src, b_out], output_artifacts: [a_out], configuration: {ProjectName: b}}
        - {name: B, category: Test, provider: CodeBuild, input_artifacts: [src, later], output_artifacts: [b_out], configuration: {ProjectName: b}}
        - {name: C, category: Test, provider: CodeBuild, run_order: 2, input_artifacts: [nope, src, src], configuration: {ProjectName: b}}
        - {name: X, category: Test, provider: CodeBuild, run_order: 3, input_artifacts: [y_out], output_artifacts: [x_out], configuration: {ProjectName: b}}
        - {name: Y, category: Test, provider: CodeBuild, run_order: 3, input_artifacts: [x_out], output_artifacts: [y_out], configuration: {ProjectName: b}}
    - name: Deploy
      actions:
        - {name: D, category: Build, provider: CodeBuild, input_artifacts: [src], output_artifacts: [later], configuration: {ProjectName: b}}
        - {name: M, category: Approval, provider: Manual, input_artifacts: [src]}
build_projects: {b: {}}
`, []string{
			`greenlight.yaml:10:81: input_artifacts: artifact "b_out" is produced by Test.B, which runs at the same time (run_order 1); give this action a higher run_order or move it to a later stage`,
			`greenlight.yaml:11:81: input_artifacts: artifact "later" is produced by Deploy.D, which runs after this action`,
			`greenlight.yaml:12:90: input_artifacts: artifact "nope" is not produced by any action (produced: a_out, b_out, later, src, x_out, y_out)`,
			`greenlight.yaml:12:101: input_artifacts: artifact "src" is listed twice`,
			`greenlight.yaml:13:90: input_artifacts: artifact dependency cycle: Test.X reads "y_out" from Test.Y, Test.Y reads "x_out" from Test.X`,
			"greenlight.yaml:18:76: input_artifacts: a Manual action takes no artifacts, found 1",
		}},
		{"configuration", `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: S, category: Source, provider: CodeStarSourceConnection, output_artifacts: [src], configuration: {FullRepositoryId: o/r}}
    - name: Deploy
      actions:
        - name: B
          category: Build
          provider: CodeBuild
          input_artifacts: [src]
          configuration: {ProjectName: nope, PrimarySource: other, EnvironmentVariables: '[{"name": "A", "type": "SECRET"}]', Buildspec: x}
        - name: E
          category: Deploy
          provider: ECS
          input_artifacts: [src]
          configuration: {ServiceName: s}
        - name: C
          category: Deploy
          provider: CodeDeployToECS
          input_artifacts: [src]
          configuration: {ApplicationName: a, DeploymentGroupName: prod, AppSpecTemplateArtifact: build, Image1ArtifactName: src}
services:
  s: {listeners: {production: "127.0.0.1:9000"}}
applications:
  a: {deployment_groups: {g: {service: s}}}
`, []string{
			"greenlight.yaml:7:115: configuration: CodeStarSourceConnection needs BranchName",
			`greenlight.yaml:14:40: ProjectName: unknown "nope" (allowed: none; define it under build_projects)`,
			`greenlight.yaml:14:61: PrimarySource: "other" is not an input artifact of this action (inputs: src)`,
			`greenlight.yaml:14:90: EnvironmentVariables: variable "A": unknown type "SECRET" (allowed: PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER)`,
			`greenlight.yaml:14:127: configuration: unknown key "Buildspec" for CodeBuild (allowed: ProjectName, PrimarySource, EnvironmentVariables)`,
			"greenlight.yaml:24:26: configuration: Image1ArtifactName and Image1ContainerName go together",
			`greenlight.yaml:24:68: DeploymentGroupName: application "a" has no deployment group "prod" (allowed: g)`,
			`greenlight.yaml:24:99: AppSpecTemplateArtifact: "build" is not an input artifact of this action (inputs: src)`,
		}},
		{"variables", `version: 1
pipeline:
  name: p
  variables: [{name: Env}, {name: Env}]
  stages:
    - name: Source
      actions:
        - {name: S, category: Source, provider: Git, output_artifacts: [src], namespace: SourceVariables, configuration: {Repository: .}}
    - name: Approve
      actions:
        - name: A
          category: Approval
          provider: Manual
          namespace: Late
          run_order: 2
          configuration:
            CustomData: "#{SourceVariables.CommitId} #{codepipeline.Nope} #{variables.Other} #{Unknown.X} #{Late.Y}"
        - name: B
          category: Approval
          provider: Manual
          configuration: {CustomData: "deploy #{Late.Y} now", ExternalEntityLink: "#{bad}"}
`, []string{
			`greenlight.yaml:4:35: name: pipeline variable "Env" is declared twice`,
			"greenlight.yaml:17:54: CustomData: unknown variable #{codepipeline.Nope} (allowed: PipelineExecutionId, PipelineName)",
			`greenlight.yaml:17:75: CustomData: #{variables.Other}: no pipeline variable "Other" (declared: Env, Env)`,
			`greenlight.yaml:17:94: CustomData: #{Unknown.X}: unknown namespace "Unknown" (available here: codepipeline, variables, SourceVariables)`,
			`greenlight.yaml:17:107: CustomData: #{Late.Y}: namespace "Late" belongs to Approve.A, which does not run before this action`,
			`greenlight.yaml:21:47: CustomData: #{Late.Y}: namespace "Late" belongs to Approve.A, which does not run before this action`,
			`greenlight.yaml:21:84: ExternalEntityLink: malformed variable reference "#{bad}": expected #{namespace.key} (letters, digits, @, - and _)`,
		}},
		{"services", minimal + `services:
  a:
    driver: kubernetes
    desired_count: 11
    listeners: {production: "127.0.0.1:8080", test: "localhost"}
    health_check: {path: health, interval: 1s, timeout: 1s, healthy_threshold: 0, matcher: "200-199,abc"}
    deregistration_delay: -1s
    process: {command: []}
  b: {listeners: {production: "0.0.0.0:8080", test: "127.0.0.1:99999"}, health_check: {interval: 1}}
  c: {listeners: {test: "127.0.0.1:8081"}, replicas: 2}
`, []string{
			`greenlight.yaml:15:13: driver: unknown "kubernetes" (allowed: auto, docker, process)`,
			"greenlight.yaml:16:20: desired_count: 11 is out of range (allowed: 1 to 10)",
			`greenlight.yaml:17:53: test: "localhost" is not a host:port address (like 127.0.0.1:8080)`,
			`greenlight.yaml:18:26: path: "health" must start with /`,
			"greenlight.yaml:18:57: timeout: 1s must be less than the interval (1s)",
			"greenlight.yaml:18:80: healthy_threshold: 0 is out of range (allowed: 1 to 10)",
			`greenlight.yaml:18:92: matcher: invalid "200-199" (write a code like "200", a list like "200,204", or a range like "200-299"; codes 200 to 499)`,
			"greenlight.yaml:19:27: deregistration_delay: duration must not be negative",
			"greenlight.yaml:20:24: command: must name a program to run",
			`greenlight.yaml:21:31: production: 0.0.0.0:8080 is already taken by the service "a" production listener (line 17)`,
			`greenlight.yaml:21:53: test: port "99999" out of range (allowed: 1 to 65535)`,
			`greenlight.yaml:22:18: listeners: missing required key "production"`,
			`greenlight.yaml:22:44: service "c": unknown key "replicas" (allowed: driver, desired_count, listeners, health_check, deregistration_delay, process)`,
		}},
		{"deployment groups", minimal + `services:
  s: {listeners: {production: "127.0.0.1:8080"}}
applications:
  orders:
    deployment_groups:
      prod:
        service: orders
        deployment_config: CodeDeployDefault.ECSAllAtOnce2
        deployment_ready: {action_on_timeout: STOP_DEPLOYMENT}
        termination_wait: 49h
        auto_rollback: {enabled: true}
        alarms: {names: [a, a, nope, x4, x5, x6, x7, x8, x9, x10, x11], on_existing_alarm: warn}
        hooks:
          Both: {command: [x], http: "http://127.0.0.1:1/"}
          Neither: {timeout: 2h}
          BadURL: {http: "127.0.0.1:9000"}
deployment_configs:
  CodeDeployDefault.Mine: {type: AllAtOnce, percentage: 10}
  Canary: {type: TimeBasedCanary, percentage: 100, interval: 1500ms}
  Linear: {type: TimeBasedLinear}
alarms:
  a: {metric_name: RequestCount, statistic: Sum, period: 1, evaluation_periods: 1, threshold: 1, comparison_operator: LessThanThreshold}
`, []string{
			`greenlight.yaml:19:18: service: unknown "orders" (allowed: s)`,
			`greenlight.yaml:20:28: deployment_config: unknown "CodeDeployDefault.ECSAllAtOnce2" (allowed: CodeDeployDefault.ECSAllAtOnce, CodeDeployDefault.ECSLinear10PercentEvery1Minutes, CodeDeployDefault.ECSLinear10PercentEvery3Minutes, CodeDeployDefault.ECSCanary10Percent5Minutes, CodeDeployDefault.ECSCanary10Percent15Minutes, Canary, CodeDeployDefault.Mine, Linear)`,
			"greenlight.yaml:21:27: deployment_ready: STOP_DEPLOYMENT needs a wait_time: how long to wait for `greenlight deploy continue` before the deployment stops",
			"greenlight.yaml:22:27: termination_wait: 49h is out of range (allowed: 0s to 48h)",
			"greenlight.yaml:23:24: auto_rollback: enabled needs events (allowed: DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST)",
			"greenlight.yaml:24:25: names: 11 alarms listed; a deployment group takes at most 10",
			`greenlight.yaml:24:29: names: alarm "a" is listed twice`,
			`greenlight.yaml:24:32: names: unknown alarm "nope" (allowed: a)`,
			`greenlight.yaml:24:38: names: unknown alarm "x4" (allowed: a)`,
			`greenlight.yaml:24:42: names: unknown alarm "x5" (allowed: a)`,
			`greenlight.yaml:24:46: names: unknown alarm "x6" (allowed: a)`,
			`greenlight.yaml:24:50: names: unknown alarm "x7" (allowed: a)`,
			`greenlight.yaml:24:54: names: unknown alarm "x8" (allowed: a)`,
			`greenlight.yaml:24:58: names: unknown alarm "x9" (allowed: a)`,
			`greenlight.yaml:24:62: names: unknown alarm "x10" (allowed: a)`,
			`greenlight.yaml:24:67: names: unknown alarm "x11" (allowed: a)`,
			`greenlight.yaml:24:92: on_existing_alarm: unknown "warn" (allowed: block, ignore)`,
			`greenlight.yaml:26:11: hook "Both": set exactly one of command or http`,
			`greenlight.yaml:27:11: hook "Neither": set exactly one of command or http`,
			"greenlight.yaml:27:30: timeout: 2h is out of range (allowed: 1s to 1h)",
			`greenlight.yaml:28:26: http: "127.0.0.1:9000" is not an http:// or https:// URL`,
			`greenlight.yaml:30:3: deployment_configs: "CodeDeployDefault.Mine": names starting with CodeDeployDefault. are CodeDeploy's own`,
			"greenlight.yaml:30:57: percentage: not used by AllAtOnce (only by TimeBasedCanary and TimeBasedLinear)",
			"greenlight.yaml:31:47: percentage: 100 is out of range (allowed: 1 to 99)",
			"greenlight.yaml:31:62: interval: 1.5s is not a whole number of seconds",
			`greenlight.yaml:32:3: deployment config "Linear": TimeBasedLinear needs percentage`,
			`greenlight.yaml:32:3: deployment config "Linear": TimeBasedLinear needs interval`,
		}},
		{"alarms", minimal + `alarms:
  latency:
    metric_name: Latency
    statistic: Avg
    extended_statistic: p100
    period: 0.5
    evaluation_periods: 2
    datapoints_to_alarm: 3
    threshold: high
    comparison_operator: GreaterThan
    treat_missing_data: zero
  both:
    metric_name: RequestCount
    statistic: Sum
    extended_statistic: p99
    period: 1
    evaluation_periods: 1
    threshold: 1
    comparison_operator: LessThanThreshold
  math:
    metric_queries:
      - {id: errors, metric_name: HTTPCode_Target_5XX_Count}
      - {id: Requests, stat: Sum}
      - {id: errors, expression: "100 * errors / requests", metric_name: RequestCount, return_data: true}
      - {id: rate, expression: "100 * errs / requests +", return_data: true}
      - {id: loop, expression: "loop + 1"}
    statistic: Sum
    period: 86400
    evaluation_periods: 2
    threshold: 5
    comparison_operator: GreaterThanThreshold
  none:
    period: 1
    evaluation_periods: 1
    threshold: 1
    comparison_operator: LessThanThreshold
`, []string{
			`greenlight.yaml:15:18: metric_name: unknown "Latency" (allowed: RequestCount, HTTPCode_Target_5XX_Count, HTTPCode_Target_4XX_Count, HTTPCode_Target_2XX_Count, HTTPCode_ELB_5XX_Count, TargetResponseTime)`,
			`greenlight.yaml:16:16: statistic: unknown "Avg" (allowed: Sum, Average, Minimum, Maximum, SampleCount)`,
			`greenlight.yaml:17:25: extended_statistic: invalid percentile "p100" (write pNN or pNN.N with 0 < NN < 100, like p99 or p99.9)`,
			"greenlight.yaml:17:25: extended_statistic: set statistic or extended_statistic, not both",
			"greenlight.yaml:18:13: period: 0.5 is below one second; periods are whole seconds, 1 or more",
			"greenlight.yaml:20:26: datapoints_to_alarm: 3 is greater than evaluation_periods (2)",
			`greenlight.yaml:21:16: threshold: expected a number, got the string "high"`,
			`greenlight.yaml:22:26: comparison_operator: unknown "GreaterThan" (allowed: GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold)`,
			`greenlight.yaml:23:25: treat_missing_data: unknown "zero" (allowed: missing, notBreaching, breaching, ignore)`,
			"greenlight.yaml:27:25: extended_statistic: set statistic or extended_statistic, not both",
			"greenlight.yaml:34:35: metric_name: needs a stat (allowed: Sum, Average, Minimum, Maximum, SampleCount, or a percentile like p99)",
			`greenlight.yaml:35:14: id: "Requests" must start with a lowercase letter, then letters, digits or _`,
			"greenlight.yaml:35:30: stat: needs a metric_name (allowed: RequestCount, HTTPCode_Target_5XX_Count, HTTPCode_Target_4XX_Count, HTTPCode_Target_2XX_Count, HTTPCode_ELB_5XX_Count, TargetResponseTime)",
			`greenlight.yaml:36:14: id: "errors" is already used (line 34)`,
			"greenlight.yaml:36:34: expression: a query has either an expression or metric_name with stat, not both",
			`greenlight.yaml:36:34: expression: "errors" depends on itself (errors -> errors)`,
			`greenlight.yaml:36:50: expression: unknown metric id "requests" (allowed: Requests, loop, rate)`,
			`greenlight.yaml:37:56: expression: unexpected end of expression; expected a number, a metric id, a function or "("`,
			`greenlight.yaml:37:72: return_data: only one query may return data; "errors" already does`,
			`greenlight.yaml:38:32: expression: "loop" depends on itself (loop -> loop)`,
			"greenlight.yaml:39:16: statistic: not used with metric_queries (each query has its own stat)",
			"greenlight.yaml:41:25: evaluation_periods: 2 periods of 86400s exceed one day, CloudWatch's limit",
			`greenlight.yaml:44:3: alarm "none": set metric_name (with statistic or extended_statistic) or metric_queries`,
		}},
		{"build projects and secrets", minimal[:len(minimal)-len("  b: {}\n")] + `  b:
    buildspec: ""
    timeout: forever
    environment_variables:
      - {name: A, value: x, type: SECRET}
      - {name: A, value: "prod/db:password", type: SECRETS_MANAGER}
      - {name: B, value: /param, type: PARAMETER_STORE}
      - {value: 1}
      - {name: CODEBUILD_X, value: 1}
      - {name: "1st", value: 1}
secrets:
  secrets_manager:
    other: {env: X, file: y}
  parameter_store:
    /known: {}
  vault: {}
`, []string{
			"greenlight.yaml:13:16: buildspec: must not be empty",
			`greenlight.yaml:14:14: timeout: invalid duration "forever" (write a number of seconds, or a duration like 90s, 5m, 1h30m)`,
			`greenlight.yaml:16:35: type: unknown "SECRET" (allowed: PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER)`,
			`greenlight.yaml:17:16: name: environment variable "A" is set twice`,
			`greenlight.yaml:17:26: value: secrets_manager "prod/db" has no local source; map it under secrets.secrets_manager (known: other)`,
			`greenlight.yaml:18:26: value: parameter_store "/param" has no local source; map it under secrets.parameter_store (known: /known)`,
			`greenlight.yaml:19:9: environment variable: missing required key "name"`,
			`greenlight.yaml:20:16: name: "CODEBUILD_X": names starting with CODEBUILD_ are CodeBuild's own`,
			`greenlight.yaml:21:16: name: "1st" is not a variable name (letters, digits and _, not starting with a digit)`,
			`greenlight.yaml:24:5: secret "other": set exactly one of env or file`,
			`greenlight.yaml:26:5: secret "/known": set exactly one of env or file`,
			`greenlight.yaml:27:3: secrets: unknown key "vault" (allowed: secrets_manager, parameter_store)`,
		}},
		{"yaml features", minimal + `x-listener: &listener {production: "127.0.0.1:7000"}
services:
  a: {listeners: *listener, health_check: {<<: {path: /a, interval: 2s}, interval: 3s}}
  b: {listeners: *nothing}
  c: {listeners: !Ref Listener}
`, []string{
			`greenlight.yaml:13:1: unknown key "x-listener" (allowed: version, pipeline, build_projects, services, applications, deployment_configs, alarms, secrets, notifications, webhook, retention)`,
			"greenlight.yaml:16:18: alias *nothing refers to no anchor defined before it",
			"greenlight.yaml:17:18: unsupported tag !Ref",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def, err := ParseDefinition("greenlight.yaml", []byte(tc.yaml))
			assertErrors(t, tc.yaml, err, tc.want...)
			if def != nil {
				t.Error("a definition with errors was returned")
			}
		})
	}
}

func TestMergeKeysAndAnchors(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(minimal+`services:
  a: {listeners: &l {production: "127.0.0.1:7000"}, health_check: &hc {path: /a, interval: 2s}}
  b: {listeners: {<<: *l, production: "127.0.0.1:7001"}, health_check: {<<: *hc, interval: 3s}}
`))
	mustNotFail(t, err)
	b := def.Services["b"]
	if b.Listeners.Production != "127.0.0.1:7001" || b.HealthCheck.Path != "/a" || b.HealthCheck.Interval.D() != 3*time.Second {
		t.Errorf("merged service = %+v", b)
	}
}
