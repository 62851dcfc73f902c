package report

import (
	"bytes"
	"path"
	"strconv"
	"strings"
)

// A `go test -coverprofile` file: "mode: set|count|atomic", then one block a line,
// "file.go:startLine.startCol,endLine.endCol numStatements count". Coverage is by
// statement, as `go test -cover` and `go tool cover -func` compute it; a block
// listed twice (merged profiles) counts once, covered if any count is > 0.
type goBlock struct {
	pkg     string
	stmts   int
	covered bool
}

func parseGoCover(data []byte) (*Report, error) {
	blocks := map[string]*goBlock{}
	var order []string
	sawMode := false
	for offset := 0; offset < len(data); {
		end := bytes.IndexByte(data[offset:], '\n')
		if end < 0 {
			end = len(data) - offset
		}
		line := strings.TrimRight(string(data[offset:offset+end]), "\r")
		lineStart := int64(offset)
		offset += end + 1
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "mode: ") {
			if err := checkMode(strings.TrimPrefix(line, "mode: ")); err != nil {
				return nil, errorAt(lineStart+6, "%v", err)
			}
			sawMode = true
			continue
		}
		if !sawMode {
			return nil, errorAt(lineStart, "first line must be \"mode: set|count|atomic\", found %q", clip(line))
		}
		key, b, col, err := parseGoBlock(line)
		if err != nil {
			return nil, errorAt(lineStart+int64(col), "%v", err)
		}
		if old, ok := blocks[key]; ok {
			old.covered = old.covered || b.covered
			continue
		}
		blocks[key] = b
		order = append(order, key)
	}
	if !sawMode {
		return nil, errorAt(-1, "empty cover profile: no \"mode:\" line")
	}
	var t coverageTotals
	for _, key := range order {
		b := blocks[key]
		covered := 0
		if b.covered {
			covered = b.stmts
		}
		t.addLines(b.pkg, covered, b.stmts)
	}
	return &Report{Coverage: t.summary()}, nil
}

func checkMode(mode string) error {
	switch mode {
	case "set", "count", "atomic":
		return nil
	}
	return errorAt(-1, "unknown cover mode %q (allowed: set, count, atomic)", clip(mode))
}

// parseGoBlock parses one block line; col is where a problem is, 0-based.
func parseGoBlock(line string) (key string, b *goBlock, col int, err error) {
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return "", nil, 0, errorAt(-1, "want \"file:start,end statements count\", found %q", clip(line))
	}
	colon := strings.LastIndexByte(fields[0], ':')
	if colon <= 0 || !validRange(fields[0][colon+1:]) {
		return "", nil, 0, errorAt(-1, "bad block position %q (want file.go:line.col,line.col)", clip(fields[0]))
	}
	stmts, err1 := strconv.Atoi(fields[1])
	count, err2 := strconv.ParseInt(fields[2], 10, 64)
	if err1 != nil || err2 != nil || stmts < 0 || count < 0 {
		return "", nil, strings.Index(line, fields[1]), errorAt(-1, "bad statement count or hit count in %q", clip(line))
	}
	file := fields[0][:colon]
	return fields[0], &goBlock{pkg: path.Dir(file), stmts: stmts, covered: count > 0}, 0, nil
}

func validRange(s string) bool {
	a, b, ok := strings.Cut(s, ",")
	return ok && validLineCol(a) && validLineCol(b)
}

func validLineCol(s string) bool {
	l, c, ok := strings.Cut(s, ".")
	_, err1 := strconv.Atoi(l)
	_, err2 := strconv.Atoi(c)
	return ok && err1 == nil && err2 == nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
