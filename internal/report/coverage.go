package report

import (
	"slices"
	"strconv"
	"strings"
)

// coverageTotals accumulates covered/total counts per package; packages come out
// sorted by name.
type coverageTotals struct {
	linesCovered, linesTotal, branchesCovered, branchesTotal int
	packages                                                 []PackageCoverage
	index                                                    map[string]int
}

// addLines adds a file's or package's counts; a tool claiming more covered than
// exist is clamped, so that rates stay in [0, 1].
func (t *coverageTotals) addLines(pkg string, covered, total int) {
	covered = min(covered, total)
	t.linesCovered += covered
	t.linesTotal += total
	if t.index == nil {
		t.index = map[string]int{}
	}
	i, ok := t.index[pkg]
	if !ok {
		i = len(t.packages)
		t.index[pkg] = i
		t.packages = append(t.packages, PackageCoverage{Name: pkg})
	}
	t.packages[i].LinesCovered += covered
	t.packages[i].LinesTotal += total
}

func (t *coverageTotals) addBranches(covered, total int) {
	covered = min(covered, total)
	t.branchesCovered += covered
	t.branchesTotal += total
}

func (t *coverageTotals) summary() *CoverageSummary {
	s := &CoverageSummary{
		LinesCovered: t.linesCovered, LinesTotal: t.linesTotal,
		BranchesCovered: t.branchesCovered, BranchesTotal: t.branchesTotal,
		LineRate:   rate(t.linesCovered, t.linesTotal),
		BranchRate: rate(t.branchesCovered, t.branchesTotal),
		Packages:   t.packages,
	}
	for i := range s.Packages {
		p := &s.Packages[i]
		p.LineRate = rate(p.LinesCovered, p.LinesTotal)
	}
	slices.SortStableFunc(s.Packages, func(a, b PackageCoverage) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// dirOf is the directory part of a slash or backslash path, "." for none.
func dirOf(file string) string {
	i := strings.LastIndexAny(file, `/\`)
	if i < 0 {
		return "."
	}
	if i == 0 {
		return file[:1]
	}
	return file[:i]
}

// atoi parses a non-negative count; garbage is zero.
func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
