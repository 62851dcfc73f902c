// Package hookrun runs CodeDeploy lifecycle hooks on this machine, for the deploy
// controller: a command in the revision's directory (Command), or an HTTP endpoint
// that receives CodeDeploy's Lambda hook event (HTTP). Local picks one per hook.
// An HTTP hook that answers 202 reports its result later: HTTP waits for it in
// Waits, the record of hook executions it declares (internal/store keeps it).
// Each is an implementation of deploy.HookRunner; the controller owns timeouts,
// cancellation and what a failure means.
package hookrun

import (
	"context"

	"github.com/greenlight-ci/greenlight/internal/deploy"
)

// Local runs a hook with a command as a Command, any other as an HTTP hook.
type Local struct {
	Command Command
	HTTP    HTTP
}

var _ deploy.HookRunner = Local{}

// Run runs one hook call.
func (l Local) Run(ctx context.Context, call deploy.HookCall) error {
	if len(call.Hook.Command) > 0 {
		return l.Command.Run(ctx, call)
	}
	return l.HTTP.Run(ctx, call)
}
