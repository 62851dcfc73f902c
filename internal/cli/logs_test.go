package cli

import (
	"encoding/json"
	"os/exec"
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

// TestJSONVerbsPrintOnlyJSONObjects: with --json, what every verb prints on
// stdout is one JSON object per line, nothing else, as the README says.
func TestJSONVerbsPrintOnlyJSONObjects(t *testing.T) {
	tw := newTwin(t)
	id := tw.start(t)
	tw.waitApproval(t, id)
	for _, args := range [][]string{
		{"status", id}, {"history"}, {"logs", id}, {"deployments"}, {"alarms"},
		{"approve", id, "--comment", "ok"}, {"resume"},
		{"tokens", "create", "json-bot", "--role", "viewer"}, {"tokens", "list"}, {"tokens", "revoke", "json-bot"},
		{"audit"}, {"notifications"}, {"gc", "--dry-run"}, {"validate"}, {"down"},
	} {
		var out string
		var err error
		if args[0] == "resume" { // may start background processes: the real binary
			var b []byte
			b, err = exec.Command(binary, append([]string{"--state-dir", tw.stateDir, "-f", tw.def, "--json"}, args...)...).Output()
			out = string(b)
		} else {
			out, err = greenlight(t, tw.stateDir, append([]string{"-f", tw.def, "--json"}, args...)...)
		}
		if err != nil {
			t.Fatalf("--json %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if line == "" && out == "" {
				continue
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Errorf("--json %s printed a line that is not a JSON object: %q", strings.Join(args, " "), line)
			}
		}
		if args[0] == "approve" {
			tw.waitEnd(t, id)
		}
	}
}
