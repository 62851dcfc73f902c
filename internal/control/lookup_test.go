package control_test

import (
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// blueGreen is a blue-green deployment whose steps before current succeeded
// (current "": none started).
func blueGreen(status deploy.Status, ready string, current deploy.StepName) *control.Deployment {
	d := &control.Deployment{ID: "d-TEST12345", Kind: deploy.KindBlueGreen, Status: status, Config: deploy.Config{ReadyAction: ready}}
	before := current != "" // none: every step pending
	for _, n := range []deploy.StepName{deploy.StepBeforeInstall, deploy.StepInstall, deploy.StepAfterInstall, deploy.StepAllowTestTraffic,
		deploy.StepAfterAllowTestTraffic, deploy.StepBeforeAllowTraffic, deploy.StepReadyWait, deploy.StepAllowTraffic,
		deploy.StepAfterAllowTraffic, deploy.StepBakeTime, deploy.StepTerminationWait, deploy.StepTerminateOriginal} {
		s := deploy.Step{Name: n, Status: deploy.StepSucceeded}
		if n == current {
			before, s.Status = false, deploy.StepInProgress
		} else if !before {
			s.Status = deploy.StepPending
		}
		d.Steps = append(d.Steps, s)
	}
	return d
}

// TestContinueOnlyInTheReadyWait: a continue is for a deployment waiting in its
// STOP_DEPLOYMENT ready wait; any other is refused as CodeDeploy refuses it
// (conflict, not_ready), saying where the deployment is and why it does not wait.
func TestContinueOnlyInTheReadyWait(t *testing.T) {
	if d, err := control.Continuable(blueGreen(deploy.StatusReady, manifest.ReadyStop, deploy.StepReadyWait)); err != nil || d == nil {
		t.Fatalf("a deployment in its ready wait: %v", err)
	}
	rollback := &control.Deployment{ID: "d-TEST12345", Kind: deploy.KindRollback, Status: deploy.StatusInProgress,
		Steps: []deploy.Step{{Name: deploy.StepAllowTraffic, Status: deploy.StepInProgress}}}
	standard := &control.Deployment{ID: "d-TEST12345", Kind: deploy.KindStandard, Status: deploy.StatusInProgress,
		Steps: []deploy.Step{{Name: deploy.StepInstall, Status: deploy.StepInProgress}}}
	for _, c := range []struct {
		name string
		d    *control.Deployment
		want []string
	}{
		{"before the ready wait", blueGreen(deploy.StatusInProgress, manifest.ReadyStop, deploy.StepInstall),
			[]string{"is InProgress at Install", "not reached its ready wait"}},
		{"waiting for its turn", blueGreen(deploy.StatusCreated, manifest.ReadyStop, ""),
			[]string{"is Created at BeforeInstall", "not reached its ready wait"}},
		{"traffic moving", blueGreen(deploy.StatusInProgress, manifest.ReadyStop, deploy.StepAllowTraffic),
			[]string{"is InProgress at AllowTraffic", "ready wait is over"}},
		{"termination wait", blueGreen(deploy.StatusBaking, manifest.ReadyStop, deploy.StepTerminationWait),
			[]string{"is Baking at TerminationWait", "ready wait is over"}},
		{"CONTINUE_DEPLOYMENT", blueGreen(deploy.StatusInProgress, manifest.ReadyContinue, deploy.StepBeforeAllowTraffic),
			[]string{"is InProgress at BeforeAllowTraffic", "CONTINUE_DEPLOYMENT"}},
		{"rollback", rollback, []string{"is InProgress at AllowTraffic", "a rollback has no ready wait"}},
		{"ECS", standard, []string{"is InProgress at Install", "ECS (staging) deployment has no ready wait"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := control.Continuable(c.d)
			if control.CodeOf(err) != control.CodeConflict || control.ReasonOf(err) != control.ReasonNotReady {
				t.Fatalf("got %v (code %q, reason %q), want a conflict %q", err, control.CodeOf(err), control.ReasonOf(err), control.ReasonNotReady)
			}
			for _, w := range append(c.want, "d-TEST12345", "not waiting for a continue") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}
