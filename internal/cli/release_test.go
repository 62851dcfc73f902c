package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

func TestValidatePrintsWarningsWithPositionsAndSucceeds(t *testing.T) {
	data, err := os.ReadFile(exampleDefinition)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "greenlight.yaml")
	edited := strings.Replace(string(data), "wait_time: 0s", "wait_time: 5m", 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	line := lineOf(t, path, "", "          wait_time: 5m")
	stdout, stderr, err := runCLI(t, "-f", path, "validate", "--source", filepath.Dir(exampleDefinition))
	if err != nil {
		t.Fatalf("validate failed on a warning: %v\n%s", err, stderr)
	}
	want := fmt.Sprintf("warning: %s:%d:22: wait_time", path, line) + ": 5m is ignored with CONTINUE_DEPLOYMENT"
	if !strings.Contains(stdout, want) || !strings.Contains(stdout, "is valid") {
		t.Errorf("validate output lacks %q:\n%s", want, stdout)
	}
}

func TestPrinterShowsTheBakeWindow(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(&out, false)
	p.event(event.Event{Time: time.Now(), Kind: event.KindProgress, DeploymentID: "d-ABCDEFGHI", Name: "BakeTime", Status: "InProgress",
		Message: "baking 3s/10s, alarms OK"})
	if got := out.String(); !strings.HasSuffix(got, " … d-ABCDEFGHI baking 3s/10s, alarms OK\n") {
		t.Errorf("bake progress printed as %q", got)
	}
}
