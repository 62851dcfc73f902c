package local

import (
	"context"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// PutHookResult records an asynchronous hook's result for the controller.
func (b *Backend) PutHookResult(context.Context, control.HookResult) error {
	return control.Errorf(control.CodeNotSupported, "asynchronous hook results are not implemented yet")
}
