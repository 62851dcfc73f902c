package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/control/localtest"
)

// alarmedDefinition is the contract's pipeline with a deployment group whose
// two alarms judge a service never deployed.
const alarmedDefinition = localtest.ContractDefinition + `services:
  web: {driver: process, listeners: {production: "127.0.0.1:1"}, process: {command: [./app]}}
applications:
  web:
    deployment_groups:
      production:
        service: web
        alarms: {enabled: true, names: [errors, latency]}
alarms:
  errors: {metric_name: HTTPCode_Target_5XX_Count, statistic: Sum, period: 1, evaluation_periods: 3, threshold: 1, comparison_operator: GreaterThanThreshold}
  latency: {metric_name: TargetResponseTime, extended_statistic: p99, period: 1, evaluation_periods: 3, threshold: 0.5, comparison_operator: GreaterThanThreshold}
`

// With alarms defined and nothing deployed, `greenlight alarms` says so in
// one line and --json prints an empty list, on the state directory and
// through a server alike, exit 0 both.
func TestAlarmsWithNothingDeployedSaySo(t *testing.T) {
	files := map[string]string{}
	for name, content := range localtest.Contract {
		files[name] = content
	}
	files["greenlight.yaml"] = alarmedDefinition
	tw := newTwinOf(t, files)
	if err := tw.site.EnsureController(context.Background()); err != nil { // the agent answers: nothing is unavailable
		t.Fatal(err)
	}
	onDir, onServer := tw.both(t, "alarms")
	if want := "no alarms: nothing deployed yet (alarms are evaluated on a deployed service's target groups)\n"; onDir != want || onServer != want {
		t.Errorf("greenlight alarms with nothing deployed:\n--- on the state directory:\n%s--- through the server:\n%s--- want:\n%s", onDir, onServer, want)
	}
	onDir, onServer = tw.both(t, "--json", "alarms")
	for _, out := range []string{onDir, onServer} {
		var v struct {
			Alarms []json.RawMessage `json:"alarms"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.Alarms == nil || len(v.Alarms) != 0 || strings.Count(out, "\n") != 1 {
			t.Errorf("greenlight --json alarms with nothing deployed: %q (%v), want {\"alarms\":[]}", out, err)
		}
	}
}
