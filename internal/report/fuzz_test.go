package report_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/report"
)

// FuzzParse feeds arbitrary bytes to every parser: none may panic, and whatever
// parses must hold the model's invariants.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("mode: count\nexample.com/x/a.go:1.1,2.2 3 1\nexample.com/x/a.go:1.1,2.2 3 0\n"))
	f.Add([]byte(`{"Action":"run","Package":"p","Test":"T"}` + "\n" + `{"Action":"fail","Package":"p","Test":"T","Elapsed":1}`))
	f.Add([]byte(`{"meta":{},"coverage":{"/a/b.rb":{"lines":[1,0,null,"ignored"],"branches":[{"coverage":1},{"coverage":"ignored"}]}}}`))
	f.Add([]byte(`{"files":[{"filename":"/a/b.rb","coverage":[1,null,0],"covered_lines":1,"lines_of_code":2}]}`))
	f.Add([]byte(trx))
	f.Add([]byte(nunit3))
	f.Add([]byte(`<test-run><test-suite type="TestFixture" fullname="N.C"><test-case name="T" classname="N.C" result="Failed" label="Error"/></test-suite></test-run>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range report.Formats() {
			r, err := report.ParseData(format, "fuzz", data)
			if err != nil {
				continue
			}
			if s := r.Tests; s != nil {
				if s.Total != s.Passed+s.Failed+s.Skipped+s.Errors || len(s.Cases) != s.Total || s.Duration < 0 {
					t.Fatalf("%s: inconsistent summary %+v", format, s)
				}
				if len(s.FailedCases()) != s.Failed+s.Errors {
					t.Fatalf("%s: %d failed cases for %d failed + %d errors", format, len(s.FailedCases()), s.Failed, s.Errors)
				}
			}
			if c := r.Coverage; c != nil {
				checkCoverage(t, format, c)
			}
			if (r.Tests == nil) == (r.Coverage == nil) {
				t.Fatalf("%s: report has both or neither tests and coverage", format)
			}
		}
	})
}

func checkCoverage(t *testing.T, format string, c *report.CoverageSummary) {
	if c.LineRate < 0 || c.LineRate > 1 || c.BranchRate < 0 || c.BranchRate > 1 {
		t.Fatalf("%s: rates out of range: %+v", format, c)
	}
	if c.LinesCovered > c.LinesTotal || c.BranchesCovered > c.BranchesTotal || c.LinesCovered < 0 || c.BranchesCovered < 0 {
		t.Fatalf("%s: covered above total: %+v", format, c)
	}
	for _, p := range c.Packages {
		if p.LinesCovered > p.LinesTotal || p.LineRate < 0 || p.LineRate > 1 {
			t.Fatalf("%s: package %+v", format, p)
		}
	}
}
