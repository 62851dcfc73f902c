package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), build events included.
type event struct {
	Time        time.Time
	Action      string
	Package     string
	ImportPath  string // build-output and build-fail events
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

// Suites is the JUnit XML document: one testsuite per Go package.
type Suites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []*Suite `xml:"testsuite"`
}

type Suite struct {
	Name      string  `xml:"name,attr"`
	Tests     int     `xml:"tests,attr"`
	Failures  int     `xml:"failures,attr"`
	Errors    int     `xml:"errors,attr"`
	Skipped   int     `xml:"skipped,attr"`
	Time      string  `xml:"time,attr"`
	Timestamp string  `xml:"timestamp,attr,omitempty"`
	Cases     []*Case `xml:"testcase"`
	SystemOut string  `xml:"system-out,omitempty"`
}

type Case struct {
	Classname string   `xml:"classname,attr"`
	Name      string   `xml:"name,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *Problem `xml:"failure,omitempty"`
	Error     *Problem `xml:"error,omitempty"`
	Skipped   *Problem `xml:"skipped,omitempty"`
}

type Problem struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// packageCase names the test case that stands for a package failing outside any
// test: a build error, a panic in TestMain, a timeout.
const packageCase = "(package)"

// Convert reads a `go test -json` stream and builds the JUnit document. A line that
// is not a test2json event is an error naming its line number.
func Convert(r io.Reader) (*Suites, error) {
	c := newCollector()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return nil, fmt.Errorf("line %d: not a go test -json event: %w", n, err)
		}
		if ev.Action == "" {
			return nil, fmt.Errorf("line %d: not a go test -json event: no Action", n)
		}
		c.add(ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read go test -json output: %w", err)
	}
	return c.suites(), nil
}

type testState struct {
	name    string
	action  string // pass, fail, skip; "" while running
	elapsed float64
	output  strings.Builder
}

type pkgState struct {
	name        string
	start       time.Time
	action      string
	elapsed     float64
	output      strings.Builder
	failedBuild string
	tests       map[string]*testState
	order       []string
}

type collector struct {
	pkgs        map[string]*pkgState
	order       []string
	buildOutput map[string]*strings.Builder // by import path
}

func newCollector() *collector {
	return &collector{pkgs: map[string]*pkgState{}, buildOutput: map[string]*strings.Builder{}}
}

func (c *collector) pkg(name string, at time.Time) *pkgState {
	p, ok := c.pkgs[name]
	if !ok {
		p = &pkgState{name: name, start: at, tests: map[string]*testState{}}
		c.pkgs[name] = p
		c.order = append(c.order, name)
	}
	return p
}

func (c *collector) add(ev event) {
	if ev.Action == "build-output" || ev.Action == "build-fail" {
		b, ok := c.buildOutput[ev.ImportPath]
		if !ok {
			b = &strings.Builder{}
			c.buildOutput[ev.ImportPath] = b
		}
		b.WriteString(ev.Output)
		return
	}
	p := c.pkg(ev.Package, ev.Time)
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			p.output.WriteString(ev.Output)
		case "pass", "fail", "skip":
			p.action, p.elapsed, p.failedBuild = ev.Action, ev.Elapsed, ev.FailedBuild
		}
		return
	}
	t, ok := p.tests[ev.Test]
	if !ok {
		t = &testState{name: ev.Test}
		p.tests[ev.Test] = t
		p.order = append(p.order, ev.Test)
	}
	switch ev.Action {
	case "output":
		t.output.WriteString(ev.Output)
	case "pass", "fail", "skip":
		t.action, t.elapsed = ev.Action, ev.Elapsed
	}
}

func (c *collector) suites() *Suites {
	doc := &Suites{}
	var total float64
	sort.Strings(c.order)
	for _, name := range c.order {
		p := c.pkgs[name]
		s := c.suite(p)
		if len(s.Cases) == 0 && p.action != "fail" {
			continue // a package without tests ("no test files")
		}
		doc.Suites = append(doc.Suites, s)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += p.elapsed
	}
	doc.Time = seconds(total)
	return doc
}

func (c *collector) suite(p *pkgState) *Suite {
	s := &Suite{Name: p.name, Time: seconds(p.elapsed), SystemOut: p.output.String()}
	if !p.start.IsZero() {
		s.Timestamp = p.start.UTC().Format("2006-01-02T15:04:05")
	}
	for _, name := range p.order {
		s.Cases = append(s.Cases, testCase(p.name, p.tests[name], p.action))
	}
	failedTests := 0
	for _, tc := range s.Cases {
		switch {
		case tc.Failure != nil:
			failedTests++
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
	}
	if p.action == "fail" && failedTests == 0 {
		// The package failed outside its tests: say so, with what it printed.
		out := p.output.String()
		if b, ok := c.buildOutput[p.failedBuild]; ok {
			out = b.String() + out
		}
		msg := "package failed outside its tests"
		if p.failedBuild != "" {
			msg = "build failed: " + p.failedBuild
		}
		s.Cases = append(s.Cases, &Case{Classname: p.name, Name: packageCase, Time: seconds(p.elapsed), Error: &Problem{Message: msg, Body: out}})
		s.Errors++
	}
	s.Tests = len(s.Cases)
	return s
}

func testCase(pkg string, t *testState, pkgAction string) *Case {
	tc := &Case{Classname: pkg, Name: t.name, Time: seconds(t.elapsed)}
	out := t.output.String()
	switch t.action {
	case "fail":
		tc.Failure = &Problem{Message: "Failed", Body: out}
	case "skip":
		tc.Skipped = &Problem{Message: skipReason(out), Body: out}
	case "pass":
	default:
		// Never finished: the package panicked or timed out while it ran.
		if pkgAction == "fail" {
			tc.Error = &Problem{Message: "did not finish: the package failed while it ran", Body: out}
		}
	}
	return tc
}

// skipReason is the message of t.Skip, from the line the test printed.
func skipReason(out string) string {
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- SKIP") {
			continue
		}
		if _, msg, ok := strings.Cut(line, ": "); ok && strings.Contains(line, ".go:") {
			return msg
		}
		return line
	}
	return "Skipped"
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
