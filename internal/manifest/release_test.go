package manifest

import (
	"strings"
	"testing"
	"time"
)

// releaseDefinition is a pipeline with a staging (ECS) and a production
// (CodeDeployToECS) deploy; group and ecsConfig are spliced in.
func releaseDefinition(group, ecsConfig string) string {
	return `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: S, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Deploy
      actions:
        - {name: Staging, category: Deploy, provider: ECS, input_artifacts: [src], configuration: {ServiceName: web` + ecsConfig + `}}
        - {name: Production, category: Deploy, provider: CodeDeployToECS, input_artifacts: [src], run_order: 2, configuration: {ApplicationName: web, DeploymentGroupName: production}}
services:
  web: {listeners: {production: "127.0.0.1:9000"}}
alarms:
  errors: {metric_name: HTTPCode_Target_5XX_Count, statistic: Sum, period: 1, evaluation_periods: 3, threshold: 1, comparison_operator: GreaterThanThreshold}
applications:
  web:
    deployment_groups:
      production:
        service: web
` + group
}

func TestBakeTimeIsOptionalAndZeroIsAllowed(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(releaseDefinition("", "")))
	mustNotFail(t, err)
	if g, _ := def.DeploymentGroup("web", "production"); g.BakeTime != nil {
		t.Errorf("bake_time unset = %v, want nil (the alarms' evaluation range applies)", *g.BakeTime)
	}
	def, err = ParseDefinition("greenlight.yaml", []byte(releaseDefinition("        bake_time: 0s\n", "")))
	mustNotFail(t, err)
	if g, _ := def.DeploymentGroup("web", "production"); g.BakeTime == nil || *g.BakeTime != 0 {
		t.Errorf("bake_time: 0s = %v, want an explicit zero", g.BakeTime)
	}
	src := releaseDefinition("        bake_time: 49h\n", "")
	_, err = ParseDefinition("greenlight.yaml", []byte(src))
	assertErrors(t, src, err, "greenlight.yaml:21:20: bake_time: 49h is out of range (allowed: 0s to 48h)")
}

func TestContinueDeploymentWarnsThatTheWaitIsIgnored(t *testing.T) {
	src := releaseDefinition("        deployment_ready: {action_on_timeout: CONTINUE_DEPLOYMENT, wait_time: 5m}\n", "")
	def, err := ParseDefinition("greenlight.yaml", []byte(src))
	mustNotFail(t, err)
	want := "greenlight.yaml:21:79: wait_time: 5m is ignored with CONTINUE_DEPLOYMENT, which reroutes traffic at once (the wait applies to STOP_DEPLOYMENT only)"
	if len(def.Warnings) != 1 || def.Warnings[0].Error() != want {
		t.Fatalf("warnings %v\nwant %s", def.Warnings, want)
	}
	for _, quiet := range []string{
		"        deployment_ready: {action_on_timeout: STOP_DEPLOYMENT, wait_time: 5m}\n",
		"        deployment_ready: {action_on_timeout: CONTINUE_DEPLOYMENT, wait_time: 0s}\n",
	} {
		def, err := ParseDefinition("greenlight.yaml", []byte(releaseDefinition(quiet, "")))
		mustNotFail(t, err)
		if len(def.Warnings) != 0 {
			t.Errorf("%s: warnings %v, want none", strings.TrimSpace(quiet), def.Warnings)
		}
	}
}

func TestECSDeploymentTimeoutIsMinutesFromOneToSixty(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(releaseDefinition("", ", DeploymentTimeout: '15'")))
	mustNotFail(t, err)
	if got, err := ParseECSDeploymentTimeout(def.Pipeline.Stages[1].Actions[0].Configuration["DeploymentTimeout"]); err != nil || got != 15*time.Minute {
		t.Errorf("DeploymentTimeout 15 = %s, %v", got, err)
	}
	if got, err := ParseECSDeploymentTimeout(""); err != nil || got != time.Hour {
		t.Errorf("default DeploymentTimeout = %s, %v; want CodePipeline's 60 minutes", got, err)
	}
	for _, bad := range []string{"0", "61", "5m", "x"} {
		src := releaseDefinition("", ", DeploymentTimeout: '"+bad+"'")
		_, err := ParseDefinition("greenlight.yaml", []byte(src))
		assertErrors(t, src, err, `greenlight.yaml:10:137: DeploymentTimeout: "`+bad+`" is not a number of minutes from 1 to 60 (default: 60)`)
	}
}
