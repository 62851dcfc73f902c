package awsrender

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func load(t *testing.T, path string) *manifest.Definition {
	t.Helper()
	def, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func render(t *testing.T, path string) *Result {
	t.Helper()
	def := load(t, path)
	res, err := Render(def, def.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// finding returns the finding of field, failing when there is none.
func finding(t *testing.T, res *Result, field string) Finding {
	t.Helper()
	for _, f := range res.Findings {
		if f.Field == field {
			return f
		}
	}
	t.Fatalf("no finding for %s", field)
	return Finding{}
}

const example = "../../examples/orders-service/greenlight.yaml"

func TestRenderExamplePipeline(t *testing.T) {
	res := render(t, example)
	p := res.Stack.Pipeline
	if p.Name != "orders-service" || p.ExecutionMode != "SUPERSEDED" || len(p.Stages) != 6 {
		t.Fatalf("pipeline = %s %s with %d stages", p.Name, p.ExecutionMode, len(p.Stages))
	}
	source := p.Stages[0].Actions[0]
	if source.Provider != manifest.ProviderCodeStar || source.Configuration["BranchName"] != "main" || source.Configuration["Repository"] != "" ||
		source.ConfigurationRefs["ConnectionArn"] != (Ref{Kind: RefConnection}) || source.ConfigurationRefs["FullRepositoryId"] != (Ref{Kind: RefRepository}) {
		t.Errorf("source = %+v", source)
	}
	tests := p.Stages[2].Actions
	if tests[1].RunOrder != 2 || tests[1].ConfigurationRefs["ProjectName"] != (Ref{Kind: RefBuildProject, Name: "orders-service-integration"}) || tests[1].OutputArtifacts == nil {
		t.Errorf("integration tests = %+v", tests[1])
	}
	staging := p.Stages[3].Actions[0]
	wantStaging := map[string]Ref{"ClusterName": {Kind: RefCluster, Name: "staging"}, "ServiceName": {Kind: RefService, Name: "orders-service-staging"}}
	if !reflect.DeepEqual(staging.ConfigurationRefs, wantStaging) || staging.Configuration["FileName"] != "imagedefinitions.json" {
		t.Errorf("staging = %+v", staging)
	}
	approval := p.Stages[4].Actions[0]
	if approval.ConfigurationRefs["ExternalEntityLink"] != (Ref{Kind: RefServiceURL, Name: "orders-service-staging", Suffix: "/version"}) ||
		approval.ConfigurationRefs["NotificationArn"] != (Ref{Kind: RefApprovalTopic}) || !strings.Contains(approval.Configuration["CustomData"], "#{BuildVariables.IMAGE_TAG}") {
		t.Errorf("approval = %+v", approval)
	}
	prod := p.Stages[5].Actions[0]
	if prod.ConfigurationRefs["DeploymentGroupName"] != (Ref{Kind: RefDeploymentGroup, Name: "orders-service/production"}) || prod.Configuration["AppSpecTemplatePath"] != "appspec.yaml" {
		t.Errorf("production = %+v", prod)
	}
}

func TestRenderExampleDeploymentAndServices(t *testing.T) {
	s := render(t, example).Stack
	g := s.DeploymentGroups["orders-service/production"]
	want := DeploymentGroup{
		Application: "orders-service", Name: "production", Service: "orders-service-production",
		DeploymentConfig: "CodeDeployDefault.ECSAllAtOnce", ActionOnTimeout: "CONTINUE_DEPLOYMENT",
		TerminationWaitInMinutes: 60, AutoRollbackEnabled: true, AutoRollbackEvents: []string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"},
		AlarmsEnabled: true, Alarms: []string{"orders-error-rate", "orders-p99-latency"},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("deployment group =\n%+v\nwant\n%+v", g, want)
	}
	prod, staging := s.Services["orders-service-production"], s.Services["orders-service-staging"]
	if prod.Controller != ControllerCodeDeploy || prod.Cluster != "production" || staging.Controller != ControllerECS || staging.Cluster != "staging" {
		t.Errorf("placement: production %s in %s, staging %s in %s", prod.Controller, prod.Cluster, staging.Controller, staging.Cluster)
	}
	task := prod.Task
	if task.ContainerName != "api" || task.ContainerPort != 3000 || task.ExecutionRoleName != "orders-service-task-execution" ||
		!reflect.DeepEqual(task.LogGroups, []string{"/ecs/orders-service"}) || task.CPU != "256" || !strings.Contains(task.ContainerDefinitions, `"image":"${IMAGE_URI}"`) {
		t.Errorf("task = %+v", task)
	}
	if hc := prod.HealthCheck; hc.Interval != 5 || hc.Timeout != 2 || hc.Path != "/health" || prod.DeregistrationDelay != 5 {
		t.Errorf("health check %+v, draining %d", hc, prod.DeregistrationDelay)
	}
	build := s.BuildProjects["orders-service-build"]
	if !build.Privileged || build.TimeoutInMinutes != 15 || s.BuildProjects["orders-service-test"].Privileged {
		t.Errorf("build projects = %+v", s.BuildProjects)
	}
	if !reflect.DeepEqual(s.BuildProjects["orders-service-test"].ReportGroups, map[string]string{"unit-tests": "TEST", "coverage": "CODE_COVERAGE"}) {
		t.Errorf("test report groups = %v", s.BuildProjects["orders-service-test"].ReportGroups)
	}
	hook := s.Hooks["LambdaFunctionToValidateBeforeTraffic"]
	if hook.TimeoutSeconds != 30 || strings.Join(hook.Command, " ") != "./dist/orders-service smoke -url-env GREENLIGHT_TEST_URL -expect-version self -rounds 1" || len(s.Hooks) != 5 {
		t.Errorf("hooks = %+v", s.Hooks)
	}
}

// TestRenderExampleAlarms: one-second periods become CloudWatch's minute for ALB
// metrics, and say so where they were written.
func TestRenderExampleAlarms(t *testing.T) {
	res := render(t, example)
	a := res.Stack.Alarms["orders-error-rate"]
	if a.Period != 60 || a.EvaluationPeriods != 3 || a.DatapointsToAlarm != 2 || a.Threshold != 5 || a.MetricName != nil || len(a.MetricQueries) != 3 || *a.MetricQueries[2].Expression != "100 * errors / requests" || !a.MetricQueries[2].ReturnData {
		t.Errorf("error-rate alarm = %+v", a)
	}
	l := res.Stack.Alarms["orders-p99-latency"]
	if *l.MetricName != "TargetResponseTime" || *l.ExtendedStatistic != "p99" || l.Statistic != nil || l.Period != 60 {
		t.Errorf("latency alarm = %+v", l)
	}
	f := finding(t, res, "alarms.orders-error-rate.period")
	if f.Kind != Changed || !strings.Contains(lineAt(t, f.Pos.File, f.Pos.Line), "orders-error-rate:") || f.Pos.Column != 3 || !strings.Contains(f.Msg, "rendered as 60 s") {
		t.Errorf("period finding = %s", f)
	}
}

// TestRenderReportsWhatAWSCannotCarry renders manifest's richest test definition:
// local drivers, secret sources, HTTP hooks, sub-minute waits and greenlight's own
// report formats are each reported where they are written.
func TestRenderReportsWhatAWSCannotCarry(t *testing.T) {
	res := render(t, "../manifest/testdata/greenlight.yaml")
	tests := []struct {
		field string
		kind  FindingKind
		at    string // text on the line the finding points at
		msg   string
	}{
		{"services.orders-service-staging.driver", LocalOnly, "orders-service-staging:", "on AWS every task runs on Fargate"},
		{"services.orders-service-staging.process.command", LocalOnly, "command: [./dist/orders-service]", "Fargate runs the image's entry point"},
		{"services.orders-service-staging.listeners.production", Changed, "orders-service-staging:", "staging listener"},
		{"services.orders-service-production.listeners.production", Changed, "orders-service-production:", "port 443"},
		{"services.orders-service-production.health_check.interval", Changed, "orders-service-production:", "rendered as 5 s"},
		{"applications.orders-service.deployment_groups.production.hooks.LambdaFunctionToValidateAfterTraffic.http", LocalOnly, "LambdaFunctionToValidateAfterTraffic: {http:", "which the stack does not create"},
		{"applications.orders-service.deployment_groups.canary.deployment_ready.wait_time", Changed, "canary:", "applies to STOP_DEPLOYMENT only"},
		{"applications.orders-service.deployment_groups.production.bake_time", Changed, "production:", "CodeDeploy has no bake window"},
		{"deployment_configs.Canary20Percent5Seconds.interval", Changed, "Canary20Percent5Seconds:", "rendered as 1"},
		{"secrets.secrets_manager.prod/orders/db", LocalOnly, "secrets_manager:", `reads "prod/orders/db" from Secrets Manager`},
		{"secrets.parameter_store./orders/api-key", LocalOnly, "parameter_store:", "Parameter Store"},
		{"build_projects.orders-service-test.buildspec.reports.unit.file-format", LocalOnly, "file-format: GOTESTJSON", "GOTESTJSON is greenlight's own format"},
		{"build_projects.orders-service-test.buildspec.reports.coverage.file-format", LocalOnly, "file-format: GOCOVER", "GOCOVER"},
	}
	for _, tt := range tests {
		f := finding(t, res, tt.field)
		if f.Kind != tt.kind || !strings.Contains(lineAt(t, f.Pos.File, f.Pos.Line), tt.at) || !strings.Contains(f.Msg, tt.msg) {
			t.Errorf("%s: got %s; want %s at a line with %q saying %q", tt.field, f, tt.kind, tt.at, tt.msg)
		}
	}
	if _, ok := res.Stack.Hooks["LambdaFunctionToValidateAfterTraffic"]; ok {
		t.Error("an HTTP hook was rendered as a function")
	}
	build := res.Stack.BuildProjects["orders-service-build"]
	if !reflect.DeepEqual(build.Secrets, []string{"prod/orders/db"}) || !reflect.DeepEqual(build.Parameters, []string{"/orders/api-key"}) {
		t.Errorf("secrets %v, parameters %v: the role must read exactly these", build.Secrets, build.Parameters)
	}
	if c := res.Stack.DeploymentConfigs["Linear25PercentEvery2Seconds"]; c != (DeploymentConfig{Type: "TimeBasedLinear", Percentage: 25, IntervalInMinutes: 1}) {
		t.Errorf("linear config = %+v", c)
	}
	for _, f := range res.Findings {
		if f.Pos.File == "" || f.Pos.Line == 0 {
			t.Errorf("finding without a position: %s", f)
		}
	}
}

// writeDefinition writes greenlight.yaml (and files) into a temporary source tree.
func writeDefinition(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "greenlight.yaml")
}

const minimal = `version: 1
pipeline:
  name: tiny
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: build}}
build_projects:
  build: {buildspec: buildspec.yml, timeout: 90s}
`

func TestRenderErrors(t *testing.T) {
	noBuildspec := writeDefinition(t, map[string]string{"greenlight.yaml": minimal})
	if _, err := Render(load(t, noBuildspec), filepath.Dir(noBuildspec)); err == nil || !strings.Contains(err.Error(), `build project "build": read buildspec.yml`) {
		t.Errorf("without the buildspec: %v", err)
	}
	withService := writeDefinition(t, map[string]string{
		"greenlight.yaml": minimal + "services:\n  web: {listeners: {production: \"127.0.0.1:9999\"}}\n",
		"buildspec.yml":   "version: 0.2\nphases:\n  build:\n    commands: [make]\n",
	})
	if _, err := Render(load(t, withService), filepath.Dir(withService)); err == nil || !strings.Contains(err.Error(), `service "web": no task definition to register on AWS`) {
		t.Errorf("a service without a task definition: %v", err)
	}
}

func TestRenderRoundsTheBuildTimeoutUp(t *testing.T) {
	path := writeDefinition(t, map[string]string{"greenlight.yaml": minimal, "buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: [docker build .]\n"})
	res, err := Render(load(t, path), filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if bp := res.Stack.BuildProjects["build"]; bp.TimeoutInMinutes != 5 || !bp.Privileged {
		t.Errorf("build project = %+v", bp)
	}
	if f := finding(t, res, "build_projects.build.timeout"); !strings.Contains(f.Msg, "below CodeBuild's minimum; rendered as 5 minutes") {
		t.Errorf("timeout finding = %s", f)
	}
}

func TestWriteTFVars(t *testing.T) {
	res := render(t, example)
	dir := t.TempDir()
	path, err := res.Stack.WriteTFVars(dir)
	if err != nil || path != filepath.Join(dir, TFVarsName) {
		t.Fatalf("WriteTFVars = %s, %v", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]Stack
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back["greenlight"], res.Stack) || !strings.Contains(string(data), `"container_definitions": "[{`) {
		t.Fatal("the tfvars file does not hold the stack as the `greenlight` variable")
	}
}

func TestWriteFindings(t *testing.T) {
	fs := []Finding{{Pos: manifest.Pos{File: "greenlight.yaml", Line: 3, Column: 5}, Field: "alarms.a.period", Kind: Changed, Msg: "rendered as 60 s"}}
	var human, js strings.Builder
	if err := WriteFindings(&human, fs, false); err != nil {
		t.Fatal(err)
	}
	if human.String() != "On AWS, 1 features are rendered differently or stay local:\n  greenlight.yaml:3:5: alarms.a.period: changed: rendered as 60 s\n" {
		t.Errorf("human = %q", human.String())
	}
	if err := WriteFindings(&js, fs, true); err != nil {
		t.Fatal(err)
	}
	if js.String() != `{"aws":{"pos":{"file":"greenlight.yaml","line":3,"column":5},"field":"alarms.a.period","kind":"changed","message":"rendered as 60 s"}}`+"\n" {
		t.Errorf("json = %q", js.String())
	}
}

// lineAt returns line n (1-based) of path, so that positions are checked against
// what they point at rather than against numbers that move with every edit.
func lineAt(t *testing.T, path string, n int) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		t.Fatalf("%s has no line %d", path, n)
	}
	return lines[n-1]
}

// TestRenderTriggersAndNotifications: pipeline.triggers become CodePipeline V2
// triggers as written; a notification rule keeps its CodePipeline events, SNS
// topics and Slack targets, and what AWS has not (greenlight's own event ids,
// generic webhooks, the GitHub webhook secret) is reported where it is written.
func TestRenderTriggersAndNotifications(t *testing.T) {
	res := render(t, "../manifest/testdata/greenlight.yaml")
	tr := res.Stack.Pipeline.Triggers
	if len(tr) != 1 || tr[0].SourceActionName != "Source" || len(tr[0].Push) != 2 || len(tr[0].PullRequest) != 1 {
		t.Fatalf("triggers %+v", tr)
	}
	push := tr[0].Push[0]
	if !reflect.DeepEqual(push.Branches, &Filter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old"}}) ||
		!reflect.DeepEqual(push.FilePaths, &Filter{Includes: []string{}, Excludes: []string{"**/*.md"}}) || push.Tags != nil ||
		!reflect.DeepEqual(tr[0].Push[1].Tags.Includes, []string{"v[0-9]*"}) ||
		!reflect.DeepEqual(tr[0].PullRequest[0].Events, []string{"OPEN", "UPDATED"}) || tr[0].PullRequest[0].Branches.Includes[0] != "main" {
		t.Errorf("filters %+v %+v %+v", push, tr[0].Push[1], tr[0].PullRequest[0])
	}
	rule, ok := res.Stack.Notifications["releases"]
	if !ok || rule.DetailType != "FULL" || rule.Status != "ENABLED" ||
		!reflect.DeepEqual(rule.PipelineEventTypeIDs, []string{"codepipeline-pipeline-pipeline-execution-failed"}) || len(rule.DeploymentEventTypeIDs) != 0 ||
		!reflect.DeepEqual(rule.SNSTopics, []string{"arn:aws:sns:us-east-1:123456789012:releases"}) ||
		len(rule.Slack) != 1 || *rule.Slack[0].SecretsManager != "prod/orders/db" || *rule.Slack[0].SecretID != "prod/orders/db" || rule.Slack[0].ParameterStore != nil {
		t.Fatalf("rule %+v", rule)
	}
	for _, tt := range []struct{ field, at, msg string }{
		{"notifications.releases.event_type_ids.greenlight-deployment-rolled-back", "- name: releases", "greenlight's own event"},
		{"notifications.releases.event_type_ids.greenlight-alarm-state-changed", "- name: releases", "not notified on AWS"},
		{"notifications.releases.targets.webhook", "- webhook: {url:", "SNS topics and chat channels only"},
		{"webhook", "secret: {env: GREENLIGHT_TEST_WEBHOOK_SECRET}", "through the CodeStar connection"},
	} {
		f := finding(t, res, tt.field)
		if f.Kind != LocalOnly || !strings.Contains(lineAt(t, f.Pos.File, f.Pos.Line), tt.at) || !strings.Contains(f.Msg, tt.msg) {
			t.Errorf("%s: %s; want local only at a line with %q saying %q", tt.field, f, tt.at, tt.msg)
		}
	}
}

// TestRenderNotificationRulesByResource: CodeDeploy's events go to rules on the
// applications; a local Slack URL reads the stack's secret; a rule with no
// target on AWS, or no event AWS has, is not rendered and says so.
func TestRenderNotificationRulesByResource(t *testing.T) {
	rules := `
notifications:
  - name: deploys
    detail_type: BASIC
    status: DISABLED
    event_type_ids: [codedeploy-application-deployment-failed, codepipeline-pipeline-stage-execution-started]
    targets:
      - slack: {url: {env: SLACK_URL}}
      - slack: {url: {parameter_store: /slack/url}}
  - name: hooks-only
    event_type_ids: [codepipeline-pipeline-pipeline-execution-failed]
    detail_type: FULL
    targets:
      - webhook: {url: "https://example.com/hook"}
  - name: own-events
    event_type_ids: [greenlight-alarm-state-changed]
    detail_type: FULL
    targets:
      - sns: {arn: "arn:aws:sns:eu-west-1:123456789012:alarms"}
secrets:
  parameter_store:
    /slack/url: {env: SLACK_URL}
`
	path := writeDefinition(t, map[string]string{"greenlight.yaml": minimal + rules, "buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: [echo]\n"})
	res := render(t, path)
	if got := slices.Sorted(maps.Keys(res.Stack.Notifications)); !reflect.DeepEqual(got, []string{"deploys"}) {
		t.Fatalf("rendered rules %v", got)
	}
	d := res.Stack.Notifications["deploys"]
	if d.Status != "DISABLED" || d.DetailType != "BASIC" || !reflect.DeepEqual(d.DeploymentEventTypeIDs, []string{"codedeploy-application-deployment-failed"}) ||
		!reflect.DeepEqual(d.PipelineEventTypeIDs, []string{"codepipeline-pipeline-stage-execution-started"}) ||
		len(d.Slack) != 2 || d.Slack[0] != (SlackTarget{}) || *d.Slack[1].ParameterStore != "/slack/url" {
		t.Fatalf("deploys %+v", d)
	}
	if f := finding(t, res, "notifications.deploys.targets.slack.url"); f.Kind != Changed || !strings.Contains(f.Msg, "var.slack_webhook_secret") {
		t.Errorf("local Slack URL: %s", f)
	}
	if f := finding(t, res, "notifications.hooks-only"); f.Kind != LocalOnly || !strings.Contains(f.Msg, "no target reaches AWS") {
		t.Errorf("rule without AWS targets: %s", f)
	}
	if f := finding(t, res, "notifications.own-events"); f.Kind != LocalOnly || !strings.Contains(f.Msg, "none of its events exists on AWS") {
		t.Errorf("rule without AWS events: %s", f)
	}
}
