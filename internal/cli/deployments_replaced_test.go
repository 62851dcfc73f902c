package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// A deployment whose tasks the service scheduler replaced says so in
// `greenlight deployments ID`: which task, how it ended, what replaced it.
func TestDeploymentDetailListsReplacedTasks(t *testing.T) {
	d := &control.Deployment{ID: "d-1", Status: "Succeeded"}
	var out bytes.Buffer
	printDeployment(newPrinter(&out, false), d)
	if strings.Contains(out.String(), "replaced") {
		t.Errorf("a deployment without replacements mentions some:\n%s", out.String())
	}
	d.Replacements = []control.TaskReplacement{{Old: "web-d-1-0", New: "web-d-1-0-r1", ExitCode: 137, Reason: "exited (exit code 137)", At: time.Now()}}
	out.Reset()
	printDeployment(newPrinter(&out, false), d)
	if !strings.Contains(out.String(), "web-d-1-0 exited (exit code 137): replaced by web-d-1-0-r1") {
		t.Errorf("the replacement is not listed:\n%s", out.String())
	}
}
