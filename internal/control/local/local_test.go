package local_test

import (
	"os"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/controltest"
	"github.com/greenlight-ci/greenlight/internal/control/localtest"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
)

// binary is the greenlight executable the backend's agent and controller run
// from (this test binary is not greenlight).
var binary string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../../../cmd/greenlight", Name: "greenlight", Path: &binary}))
}

func TestLocalBackendContract(t *testing.T) {
	controltest.Run(t, controltest.Harness{New: newBackend})
}

// newBackend is the local backend of a repository holding the contract
// suite's pipeline, whose agent and controller run from the real binary.
func newBackend(t *testing.T) control.Backend {
	t.Helper()
	return localtest.New(t, binary, localtest.Contract).Backend
}
