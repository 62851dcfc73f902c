package control

import (
	"fmt"
	"slices"
	"strings"
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
