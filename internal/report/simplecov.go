package report

import (
	"encoding/json"
	"maps"
	"slices"
)

// SimpleCov output, any of its three JSON shapes:
//   - coverage/.resultset.json: {"<command>": {"coverage": {file: {"lines": [...],
//     "branches": {...}} or file: [...]}, "timestamp": n}, ...}, merged;
//   - simplecov_json_formatter's coverage.json: {"meta": ..., "coverage": {file:
//     {"lines": [...], "branches": [...]}}};
//   - simplecov-json's coverage.json: {"files": [{"filename", "coverage",
//     "covered_lines", "lines_of_code"}], "metrics": {...}}.
//
// A line entry is a hit count; null or "ignored" is not a relevant line.
// Packages are the files' directories.
type simplecovFile struct {
	lines    []json.RawMessage
	branches json.RawMessage
}

func parseSimpleCov(data []byte) (*Report, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, jsonError(err)
	}
	if files, ok := top["files"]; ok {
		return parseSimpleCovJSONGem(files)
	}
	files := map[string][]simplecovFile{}
	if cov, ok := top["coverage"]; ok {
		if err := addSimpleCovFiles(files, cov); err != nil {
			return nil, err
		}
	} else {
		for _, command := range slices.Sorted(maps.Keys(top)) {
			var run struct {
				Coverage json.RawMessage `json:"coverage"`
			}
			if err := json.Unmarshal(top[command], &run); err != nil {
				return nil, errorAt(-1, "result set %q: %v", command, jsonError(err))
			}
			if run.Coverage == nil {
				return nil, errorAt(-1, "result set %q has no \"coverage\"; is this a SimpleCov .resultset.json or coverage.json?", command)
			}
			if err := addSimpleCovFiles(files, run.Coverage); err != nil {
				return nil, err
			}
		}
	}
	var t coverageTotals
	for _, name := range slices.Sorted(maps.Keys(files)) {
		covered, total := mergeSimpleCovLines(files[name])
		t.addLines(dirOf(name), covered, total)
		for _, f := range files[name] {
			t.addBranches(simpleCovBranches(f.branches))
		}
	}
	return &Report{Coverage: t.summary()}, nil
}

func addSimpleCovFiles(files map[string][]simplecovFile, raw json.RawMessage) error {
	var byFile map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byFile); err != nil {
		return errorAt(-1, "\"coverage\" must map file names to line coverage: %v", err)
	}
	for name, v := range byFile {
		var f simplecovFile
		// Old SimpleCov (< 0.18) wrote the lines array alone.
		if err := json.Unmarshal(v, &f.lines); err != nil {
			var withBranches struct {
				Lines    []json.RawMessage `json:"lines"`
				Branches json.RawMessage   `json:"branches"`
			}
			if err := json.Unmarshal(v, &withBranches); err != nil {
				return errorAt(-1, "file %q: want a lines array or {\"lines\": [...]}: %v", name, err)
			}
			f.lines, f.branches = withBranches.Lines, withBranches.Branches
		}
		files[name] = append(files[name], f)
	}
	return nil
}

// mergeSimpleCovLines merges several runs of one file: a line is relevant if any
// run says so, covered if any run hit it.
func mergeSimpleCovLines(runs []simplecovFile) (covered, total int) {
	n := 0
	for _, r := range runs {
		n = max(n, len(r.lines))
	}
	for i := range n {
		relevant, hit := false, false
		for _, r := range runs {
			if i >= len(r.lines) {
				continue
			}
			if count, ok := hitCount(r.lines[i]); ok {
				relevant = true
				hit = hit || count > 0
			}
		}
		if relevant {
			total++
			if hit {
				covered++
			}
		}
	}
	return covered, total
}

// simpleCovBranches counts branches in either shape: the result set's
// {"[:if, ...]": {"[:then, ...]": hits}} or the formatter's [{"coverage": hits}].
func simpleCovBranches(raw json.RawMessage) (covered, total int) {
	if len(raw) == 0 {
		return 0, 0
	}
	var nested map[string]map[string]json.RawMessage
	if json.Unmarshal(raw, &nested) == nil {
		for _, targets := range nested {
			for _, hits := range targets {
				covered, total = countHit(hits, covered, total)
			}
		}
		return covered, total
	}
	var list []struct {
		Coverage json.RawMessage `json:"coverage"`
	}
	if json.Unmarshal(raw, &list) == nil {
		for _, b := range list {
			covered, total = countHit(b.Coverage, covered, total)
		}
	}
	return covered, total
}

func countHit(raw json.RawMessage, covered, total int) (int, int) {
	count, ok := hitCount(raw)
	if !ok {
		return covered, total
	}
	if count > 0 {
		covered++
	}
	return covered, total + 1
}

// hitCount reads a line or branch entry: a number, or null / "ignored" for an
// entry that does not count.
func hitCount(raw json.RawMessage) (float64, bool) {
	var count *float64
	if json.Unmarshal(raw, &count) != nil || count == nil {
		return 0, false
	}
	return *count, true
}

func parseSimpleCovJSONGem(raw json.RawMessage) (*Report, error) {
	var files []struct {
		Filename     string          `json:"filename"`
		Coverage     json.RawMessage `json:"coverage"`
		CoveredLines int             `json:"covered_lines"`
		LinesOfCode  int             `json:"lines_of_code"`
	}
	if err := json.Unmarshal(raw, &files); err != nil {
		return nil, errorAt(-1, "\"files\" must be a list of files: %v", err)
	}
	var t coverageTotals
	for _, f := range files {
		covered, total := max(f.CoveredLines, 0), max(f.LinesOfCode, 0)
		if len(f.Coverage) > 0 {
			tmp := map[string][]simplecovFile{}
			if err := addSimpleCovFiles(tmp, json.RawMessage(`{"f":`+string(f.Coverage)+`}`)); err == nil {
				covered, total = mergeSimpleCovLines(tmp["f"])
				t.addBranches(simpleCovBranches(tmp["f"][0].branches))
			}
		}
		t.addLines(dirOf(f.Filename), covered, total)
	}
	return &Report{Coverage: t.summary()}, nil
}
