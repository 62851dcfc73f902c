package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Coverage is Cobertura's root element: line coverage per package, file and line.
type Coverage struct {
	XMLName      xml.Name  `xml:"coverage"`
	LineRate     string    `xml:"line-rate,attr"`
	BranchRate   string    `xml:"branch-rate,attr"`
	LinesCovered int       `xml:"lines-covered,attr"`
	LinesValid   int       `xml:"lines-valid,attr"`
	Version      string    `xml:"version,attr"`
	Timestamp    int64     `xml:"timestamp,attr"`
	Sources      []string  `xml:"sources>source"`
	Packages     []Package `xml:"packages>package"`
}

type Package struct {
	Name       string  `xml:"name,attr"`
	LineRate   string  `xml:"line-rate,attr"`
	BranchRate string  `xml:"branch-rate,attr"`
	Classes    []Class `xml:"classes>class"`
}

// Class is one source file (Cobertura's unit for Go, which has no classes).
type Class struct {
	Name       string `xml:"name,attr"`
	Filename   string `xml:"filename,attr"`
	LineRate   string `xml:"line-rate,attr"`
	BranchRate string `xml:"branch-rate,attr"`
	Lines      []Line `xml:"lines>line"`
}

type Line struct {
	Number int   `xml:"number,attr"`
	Hits   int64 `xml:"hits,attr"`
}

// Convert reads a cover profile ("mode: set" then "file:l0.c0,l1.c1 stmts count"
// lines). A line's hits are the most of any block on it; module is stripped from
// file names.
func Convert(r io.Reader, module string) (*Coverage, error) {
	files, err := parseProfile(r)
	if err != nil {
		return nil, err
	}
	byPackage := map[string][]Class{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		file := strings.TrimPrefix(strings.TrimPrefix(name, module), "/")
		byPackage[path.Dir(file)] = append(byPackage[path.Dir(file)], class(file, files[name]))
	}
	doc := &Coverage{Version: "greenlight-orders-service", Sources: []string{"."}, BranchRate: "0"}
	for _, pkg := range slices.Sorted(maps.Keys(byPackage)) {
		classes := byPackage[pkg]
		covered, valid := 0, 0
		for _, c := range classes {
			cv, v := counts(c.Lines)
			covered, valid = covered+cv, valid+v
		}
		doc.Packages = append(doc.Packages, Package{Name: pkg, LineRate: rate(covered, valid), BranchRate: "0", Classes: classes})
		doc.LinesCovered, doc.LinesValid = doc.LinesCovered+covered, doc.LinesValid+valid
	}
	doc.LineRate = rate(doc.LinesCovered, doc.LinesValid)
	return doc, nil
}

// parseProfile returns each file's hits by line.
func parseProfile(r io.Reader) (map[string]map[int]int64, error) {
	files := map[string]map[int]int64{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || (n == 1 && strings.HasPrefix(line, "mode:")) {
			continue
		}
		name, from, to, count, err := parseBlock(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if files[name] == nil {
			files[name] = map[int]int64{}
		}
		for l := from; l <= to; l++ {
			files[name][l] = max(files[name][l], count)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no coverage blocks: not a Go cover profile")
	}
	return files, nil
}

// parseBlock reads "file.go:12.5,14.2 3 1".
func parseBlock(line string) (file string, from, to int, count int64, err error) {
	colon := strings.LastIndex(line, ":")
	fields := strings.Fields(line[colon+1:])
	if colon < 0 || len(fields) != 3 {
		return "", 0, 0, 0, fmt.Errorf("%q is not file:start,end statements count", line)
	}
	start, end, ok := strings.Cut(fields[0], ",")
	from, err1 := strconv.Atoi(strings.Split(start, ".")[0])
	to, err2 := strconv.Atoi(strings.Split(end, ".")[0])
	count, err3 := strconv.ParseInt(fields[2], 10, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil || from > to {
		return "", 0, 0, 0, fmt.Errorf("%q is not file:start,end statements count", line)
	}
	return line[:colon], from, to, count, nil
}

func class(file string, hits map[int]int64) Class {
	c := Class{Name: strings.TrimSuffix(path.Base(file), ".go"), Filename: file, BranchRate: "0"}
	for _, l := range slices.Sorted(maps.Keys(hits)) {
		c.Lines = append(c.Lines, Line{Number: l, Hits: hits[l]})
	}
	covered, valid := counts(c.Lines)
	c.LineRate = rate(covered, valid)
	return c
}

func counts(lines []Line) (covered, valid int) {
	for _, l := range lines {
		if l.Hits > 0 {
			covered++
		}
	}
	return covered, len(lines)
}

func rate(covered, valid int) string {
	if valid == 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(covered)/float64(valid), 'f', 4, 64)
}
