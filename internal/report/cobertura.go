package report

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// Cobertura XML (coverage.py, gcovr, PHPUnit, istanbul, Cobertura itself). Counts
// come from the class <lines>, each (file, line) once; a file without lines falls
// back to the rates the tool wrote.
type coberturaRoot struct {
	LineRate   string             `xml:"line-rate,attr"`
	BranchRate string             `xml:"branch-rate,attr"`
	Packages   []coberturaPackage `xml:"packages>package"`
}

type coberturaPackage struct {
	Name    string           `xml:"name,attr"`
	Classes []coberturaClass `xml:"classes>class"`
}

type coberturaClass struct {
	Filename string          `xml:"filename,attr"`
	Name     string          `xml:"name,attr"`
	Lines    []coberturaLine `xml:"lines>line"`
}

type coberturaLine struct {
	Number            string `xml:"number,attr"`
	Hits              string `xml:"hits,attr"`
	ConditionCoverage string `xml:"condition-coverage,attr"`
}

type coberturaLineState struct {
	covered                        bool
	branchesCovered, branchesTotal int
}

// conditionCoverage matches "50% (1/2)".
var conditionCoverage = regexp.MustCompile(`\((\d+)/(\d+)\)`)

func parseCobertura(data []byte) (*Report, error) {
	var root coberturaRoot
	if _, err := decodeXML(data, map[string]any{"coverage": &root}); err != nil {
		return nil, err
	}
	var t coverageTotals
	for _, p := range root.Packages {
		lines := map[string]*coberturaLineState{}
		for _, c := range p.Classes {
			for _, l := range c.Lines {
				key := c.Filename + ":" + l.Number
				st, ok := lines[key]
				if !ok {
					st = &coberturaLineState{}
					lines[key] = st
				}
				hits, _ := strconv.ParseFloat(l.Hits, 64)
				st.covered = st.covered || hits > 0
				if m := conditionCoverage.FindStringSubmatch(l.ConditionCoverage); m != nil {
					st.branchesCovered = max(st.branchesCovered, atoi(m[1]))
					st.branchesTotal = max(st.branchesTotal, atoi(m[2]))
				}
			}
		}
		covered := 0
		for _, key := range slices.Sorted(maps.Keys(lines)) {
			st := lines[key]
			if st.covered {
				covered++
			}
			t.addBranches(min(st.branchesCovered, st.branchesTotal), st.branchesTotal)
		}
		t.addLines(p.Name, covered, len(lines))
	}
	s := t.summary()
	if s.LinesTotal == 0 {
		s.LineRate = unitRate(root.LineRate)
	}
	if s.BranchesTotal == 0 {
		s.BranchRate = unitRate(root.BranchRate)
	}
	return &Report{Coverage: s}, nil
}

// unitRate parses a rate written by the tool, clamped to [0, 1].
func unitRate(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f {
		return 0
	}
	return min(max(f, 0), 1)
}
