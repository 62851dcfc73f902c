package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// A `go test -json` stream (test2json events, one JSON object a line). Lines that
// are not JSON objects (go command chatter when stderr is merged) are skipped.
type goTestEvent struct {
	Action      string  `json:"Action"`
	Package     string  `json:"Package"`
	ImportPath  string  `json:"ImportPath"` // build-output, build-fail (Go 1.24+)
	Test        string  `json:"Test"`
	FailedBuild string  `json:"FailedBuild"` // on a package's fail: the build that failed
	Elapsed     float64 `json:"Elapsed"`
	Output      string  `json:"Output"`
}

type goTest struct {
	pkg, name string
	action    string // last terminal action: pass, fail, skip; "" while running
	elapsed   float64
	output    strings.Builder
}

type goPackage struct {
	action      string
	elapsed     float64
	output      strings.Builder
	failedBuild string
}

type goTestStream struct {
	tests    []*goTest
	byKey    map[[2]string]*goTest
	packages map[string]*goPackage
	order    []string
	builds   map[string]*strings.Builder // build output by ImportPath (Go 1.24+)
}

func parseGoTestJSON(data []byte) (*Report, error) {
	s := &goTestStream{byKey: map[[2]string]*goTest{}, packages: map[string]*goPackage{}, builds: map[string]*strings.Builder{}}
	events := 0
	for offset := 0; offset < len(data); {
		end := bytes.IndexByte(data[offset:], '\n')
		if end < 0 {
			end = len(data) - offset
		}
		line := bytes.TrimSpace(data[offset : offset+end])
		if len(line) > 0 && line[0] == '{' {
			var ev goTestEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				return nil, shiftError(jsonError(err), int64(offset))
			}
			s.add(ev)
			events++
		}
		offset += end + 1
	}
	if events == 0 {
		return nil, errorAt(-1, "no `go test -json` events: is this the output of go test -json?")
	}
	return &Report{Tests: s.summary()}, nil
}

func (s *goTestStream) pkg(name string) *goPackage {
	p, ok := s.packages[name]
	if !ok {
		p = &goPackage{}
		s.packages[name] = p
		s.order = append(s.order, name)
	}
	return p
}

func (s *goTestStream) add(ev goTestEvent) {
	if ev.Package == "" {
		if ev.Action == "build-output" {
			b, ok := s.builds[ev.ImportPath]
			if !ok {
				b = &strings.Builder{}
				s.builds[ev.ImportPath] = b
			}
			b.WriteString(ev.Output)
		}
		return
	}
	pkgName := ev.Package
	p := s.pkg(pkgName)
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			p.output.WriteString(ev.Output)
		case "pass", "fail", "skip":
			if p.action != "fail" {
				p.action = ev.Action
			}
			p.elapsed = ev.Elapsed
			if ev.FailedBuild != "" {
				p.failedBuild = ev.FailedBuild
			}
		}
		return
	}
	key := [2]string{pkgName, ev.Test}
	t, ok := s.byKey[key]
	if !ok {
		t = &goTest{pkg: pkgName, name: ev.Test}
		s.byKey[key] = t
		s.tests = append(s.tests, t)
	}
	switch ev.Action {
	case "output":
		t.output.WriteString(ev.Output)
	case "pass", "fail", "skip":
		t.action, t.elapsed = ev.Action, ev.Elapsed
	case "run":
		t.action = "" // a rerun (-count) starts over
	}
}

func (s *goTestStream) summary() *TestSummary {
	var cases []TestCase
	failedIn := map[string]bool{}
	var total time.Duration
	for _, t := range s.tests {
		tc := t.testCase(s.packages[t.pkg])
		if tc.Status == StatusFailed || tc.Status == StatusError {
			failedIn[t.pkg] = true
		}
		cases = append(cases, tc)
	}
	for _, name := range s.order {
		p := s.packages[name]
		total += time.Duration(p.elapsed * float64(time.Second))
		// A package that failed with no failing test: build failure, panic in
		// TestMain or init, or a failing TestMain. Report it as an error case.
		if p.action == "fail" && !failedIn[name] {
			out := strings.TrimSpace(p.output.String())
			if b, ok := s.builds[p.failedBuild]; ok {
				out = strings.TrimSpace(b.String() + "\n" + out)
			}
			cases = append(cases, TestCase{Suite: name, Name: "(package)", Status: StatusError,
				Duration: time.Duration(p.elapsed * float64(time.Second)),
				Message:  packageFailure(p, out), Details: out})
		}
	}
	return newTestSummary(cases, total)
}

func (t *goTest) testCase(p *goPackage) TestCase {
	out := strings.TrimSpace(t.output.String())
	tc := TestCase{Suite: t.pkg, Name: t.name, Duration: time.Duration(t.elapsed * float64(time.Second)), Details: out}
	switch t.action {
	case "pass":
		tc.Status, tc.Details = StatusSucceeded, ""
	case "skip":
		tc.Status = StatusSkipped
		tc.Message = summaryMessage("", out)
	case "fail":
		tc.Status = StatusFailed
		tc.Message = summaryMessage("", out)
	default:
		// Never finished: the package panicked or timed out while it ran.
		tc.Status = StatusError
		tc.Message = "did not finish"
		if p != nil {
			if m := panicLine(p.output.String()); m != "" {
				tc.Message = "did not finish: " + m
			}
			tc.Details = strings.TrimSpace(out + "\n" + p.output.String())
		}
	}
	return tc
}

func packageFailure(p *goPackage, out string) string {
	if p.failedBuild != "" {
		// Skip the "# package" header go build prints before its errors.
		return "build failed: " + summaryMessage("", out, "# "+p.failedBuild)
	}
	if m := panicLine(out); m != "" {
		return m
	}
	return summaryMessage("", out, "FAIL")
}

func panicLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "panic: ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// shiftError moves an offsetError found in one line to its place in the file.
func shiftError(err error, by int64) error {
	if oe, ok := err.(*offsetError); ok && oe.offset >= 0 {
		oe.offset += by
	}
	return err
}
