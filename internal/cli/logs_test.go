package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLogsJSONIsOneObjectPerLine: `logs --json`, with and without --follow,
// prints each log line as a JSON object naming its action, as every verb's
// --json does.
func TestLogsJSONIsOneObjectPerLine(t *testing.T) {
	tw := newTwin(t)
	id := tw.start(t)
	tw.waitApproval(t, id)
	plain, err := greenlight(t, tw.stateDir, "-f", tw.def, "logs", id, "Build/Build")
	if err != nil {
		t.Fatalf("logs: %v\n%s", err, plain)
	}
	if out, err := greenlight(t, tw.stateDir, "-f", tw.def, "reject", id, "--comment", "enough"); err != nil {
		t.Fatalf("reject: %v\n%s", err, out)
	}
	tw.waitEnd(t, id)
	for _, args := range [][]string{{"--json", "logs", id, "Build/Build"}, {"--json", "logs", id, "Build/Build", "--follow"}} {
		out, err := greenlight(t, tw.stateDir, append([]string{"-f", tw.def}, args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var lines []string
		for _, text := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			var l struct{ Stage, Action, Line string }
			if err := json.Unmarshal([]byte(text), &l); err != nil {
				t.Fatalf("%s: line %q is not a JSON object: %v\n%s", strings.Join(args, " "), text, err, out)
			}
			if l.Stage != "Build" || l.Action != "Build" {
				t.Fatalf("%s: line of %s/%s, want Build/Build: %s", strings.Join(args, " "), l.Stage, l.Action, text)
			}
			lines = append(lines, l.Line)
		}
		if want := strings.TrimSuffix(plain[strings.Index(plain, "\n")+1:], "\n"); strings.Join(lines, "\n") != want {
			t.Errorf("%s: lines\n%s\nwant the log\n%s", strings.Join(args, " "), strings.Join(lines, "\n"), want)
		}
	}
}
