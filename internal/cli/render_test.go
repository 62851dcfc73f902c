package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/awsrender"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut}
	root := a.rootCommand()
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

const exampleDefinition = "../../examples/orders-service/greenlight.yaml"

func TestRenderTerraformWritesTheStackAndListsFindings(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, err := runCLI(t, "-f", exampleDefinition, "render", "terraform", "-o", dir)
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr)
	}
	path := filepath.Join(dir, awsrender.TFVarsName)
	if stdout != "✔ wrote "+path+"\n" {
		t.Errorf("stdout = %q", stdout)
	}
	if want := fmt.Sprintf("greenlight.yaml:%d:3: alarms.orders-error-rate.period: changed:", lineOf(t, exampleDefinition, "", "  orders-error-rate:")); !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks the alarm period finding:\n%s", stderr)
	}
	var vars map[string]awsrender.Stack
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &vars); err != nil || vars["greenlight"].Pipeline.Name != "orders-service" {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestValidateAWSListsFindingsWithPositions(t *testing.T) {
	stdout, _, err := runCLI(t, "-f", exampleDefinition, "validate", "--aws")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"On AWS, ",
		fmt.Sprintf("greenlight.yaml:%d:7: services.orders-service-staging.process.command: local only:", lineOf(t, exampleDefinition, "  orders-service-staging:", "      command:")),
		"is valid (6 stages",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("validate --aws lacks %q:\n%s", want, stdout)
		}
	}
	plain, _, _ := runCLI(t, "-f", exampleDefinition, "validate")
	if strings.Contains(plain, "On AWS") {
		t.Errorf("validate without --aws lists AWS findings:\n%s", plain)
	}
}

func TestValidateAWSAsJSON(t *testing.T) {
	stdout, _, err := runCLI(t, "--json", "-f", exampleDefinition, "validate", "--aws")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var first struct {
		AWS awsrender.Finding `json:"aws"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.AWS.Field == "" || first.AWS.Pos.Line == 0 {
		t.Fatalf("first line %q: %v", lines[0], err)
	}
	if !strings.Contains(lines[len(lines)-1], `"valid":true`) {
		t.Errorf("last line = %s", lines[len(lines)-1])
	}
}

// lineOf returns the 1-based line of the first line of path starting with prefix
// after the first line starting with after ("" for the top), so that the expected
// positions follow edits of the example.
func lineOf(t *testing.T, path, after, prefix string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := after == ""
	for i, line := range strings.Split(string(data), "\n") {
		if !seen {
			seen = strings.HasPrefix(line, after)
			continue
		}
		if strings.HasPrefix(line, prefix) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line %q after %q", path, prefix, after)
	return 0
}
