package control

import (
	"fmt"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// DefaultLogLimit is how much of a log one ReadLog returns when the request
// sets no limit.
const DefaultLogLimit = 1 << 20

// FindAction returns the action ref names in v: NotFound when v has none.
func FindAction(v *Execution, ref ActionRef) (*Action, error) {
	if a := v.Action(ref.Stage, ref.Action); a != nil {
		return a, nil
	}
	return nil, Errorf(CodeNotFound, "execution %s has no action %s/%s", ref.ExecutionID, ref.Stage, ref.Action)
}

// CheckCommand refuses a deployment command that is none of continue, stop and
// rollback.
func CheckCommand(c CommandName) error {
	if !slices.Contains([]CommandName{CommandContinue, CommandStop, CommandRollback}, c) {
		return Errorf(CodeBadRequest, "deployment command %q (allowed: %s, %s, %s)", c, CommandContinue, CommandStop, CommandRollback)
	}
	return nil
}

// Commandable returns d when it can still take a command: a Conflict
// "not_active" when it is done.
func Commandable(d *Deployment) (*Deployment, error) {
	if d.Status.Done() {
		return nil, Refused(ReasonNotActive, fmt.Errorf("deployment %s is %s: nothing to continue, stop or roll back", d.ID, d.Status))
	}
	return d, nil
}

// Continuable returns d when it waits for a continue: a deployment with the
// ready option STOP_DEPLOYMENT in its ready wait (status Ready), the one state
// in which CodeDeploy's ContinueDeployment (READY_WAIT) is accepted. Any other
// deployment is a Conflict "not_ready" saying where it is and why it does not
// wait, as AWS refuses it (DeploymentIsNotInReadyStateException).
func Continuable(d *Deployment) (*Deployment, error) {
	if d.Status == DeploymentReady {
		return d, nil
	}
	where := string(d.Status)
	if s := d.CurrentStep(); s != nil {
		where += " at " + string(s.Name)
	}
	var why string
	switch ready := d.Step(deploy.StepReadyWait); {
	case d.Kind == KindRollback:
		why = "a rollback has no ready wait"
	case d.Kind == KindStandard:
		why = "an ECS (staging) deployment has no ready wait"
	case d.Config.ReadyAction != manifest.ReadyStop:
		why = "its ready option is CONTINUE_DEPLOYMENT, which reroutes traffic without waiting"
	case ready != nil && ready.Status == deploy.StepPending:
		why = "it has not reached its ready wait yet; continue it once it is Ready"
	default:
		why = "its ready wait is over"
	}
	return nil, Refused(ReasonNotReady, fmt.Errorf("deployment %s is %s, not waiting for a continue: %s (`deploy continue` applies to a deployment with STOP_DEPLOYMENT waiting in its ready wait, status Ready)", d.ID, where, why))
}

// OnlyActive is the deployment a command without a deployment id is for: the
// only active one that is not a rollback. NotFound when there is none,
// BadRequest naming them when there are several.
func OnlyActive(active []*Deployment) (*Deployment, error) {
	active = slices.DeleteFunc(slices.Clone(active), func(d *Deployment) bool { return d.Kind == KindRollback })
	switch len(active) {
	case 0:
		return nil, Errorf(CodeNotFound, "no deployment is in progress or baking (see `greenlight deployments`)")
	case 1:
		return active[0], nil
	}
	var names []string
	for _, d := range active {
		names = append(names, fmt.Sprintf("%s (%s/%s, %s)", d.ID, d.Application, d.Group, d.Status))
	}
	return nil, Errorf(CodeBadRequest, "several deployments are active, name one: %s", strings.Join(names, ", "))
}

// CheckHookResult refuses a hook result no backend takes: BadRequest without
// both ids, or with a status other than Succeeded or Failed.
func CheckHookResult(r HookResult) error {
	if r.DeploymentID == "" || r.HookExecutionID == "" {
		return Errorf(CodeBadRequest, "a hook result needs the deployment id and the lifecycle event hook execution id")
	}
	if r.Status != HookSucceeded && r.Status != HookFailed {
		return Errorf(CodeBadRequest, "hook result status %q (allowed: %s, %s)", r.Status, HookSucceeded, HookFailed)
	}
	return nil
}
