package report

import "strings"

// JaCoCo XML: counters of type LINE and BRANCH at report, group and package level.
type jacocoGroup struct {
	Name     string          `xml:"name,attr"`
	Groups   []jacocoGroup   `xml:"group"`
	Packages []jacocoPackage `xml:"package"`
	Counters []jacocoCounter `xml:"counter"`
}

type jacocoPackage struct {
	Name     string          `xml:"name,attr"`
	Counters []jacocoCounter `xml:"counter"`
}

type jacocoCounter struct {
	Type    string `xml:"type,attr"`
	Missed  string `xml:"missed,attr"`
	Covered string `xml:"covered,attr"`
}

func parseJaCoCo(data []byte) (*Report, error) {
	var root jacocoGroup
	if _, err := decodeXML(data, map[string]any{"report": &root}); err != nil {
		return nil, err
	}
	var t coverageTotals
	root.addPackages(&t)
	s := t.summary()
	// The report's own counters are the totals; packages can sum to the same.
	if covered, total, ok := counter(root.Counters, "LINE"); ok {
		s.LinesCovered, s.LinesTotal, s.LineRate = covered, total, rate(covered, total)
	}
	if covered, total, ok := counter(root.Counters, "BRANCH"); ok {
		s.BranchesCovered, s.BranchesTotal, s.BranchRate = covered, total, rate(covered, total)
	}
	return &Report{Coverage: s}, nil
}

func (g jacocoGroup) addPackages(t *coverageTotals) {
	for _, p := range g.Packages {
		covered, total, _ := counter(p.Counters, "LINE")
		t.addLines(strings.ReplaceAll(p.Name, "/", "."), covered, total)
		bc, bt, _ := counter(p.Counters, "BRANCH")
		t.addBranches(bc, bt)
	}
	for _, child := range g.Groups {
		child.addPackages(t)
	}
}

func counter(counters []jacocoCounter, typ string) (covered, total int, ok bool) {
	for _, c := range counters {
		if c.Type == typ {
			covered, total = atoi(c.Covered), atoi(c.Covered)+atoi(c.Missed)
			if total < covered { // overflow
				return 0, 0, true
			}
			return covered, total, true
		}
	}
	return 0, 0, false
}
