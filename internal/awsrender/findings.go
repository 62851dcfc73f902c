package awsrender

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// FindingKind says what happened to a feature AWS cannot carry as written.
type FindingKind string

const (
	// Changed means rendered with a different value or mechanism (Msg says which).
	Changed FindingKind = "changed"
	// LocalOnly means a field has no AWS equivalent and is left out of the stack.
	LocalOnly FindingKind = "local only"
)

// Finding is one greenlight.yaml (or buildspec) feature that is not rendered as
// written, at the position it was written.
type Finding struct {
	Pos   manifest.Pos `json:"pos"`
	Field string       `json:"field"` // e.g. alarms.orders-error-rate.period
	Kind  FindingKind  `json:"kind"`
	Msg   string       `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", f.Pos, f.Field, f.Kind, f.Msg)
}

// findings collects Findings while rendering.
type findings []Finding

func (fs *findings) add(pos manifest.Pos, field string, kind FindingKind, format string, args ...any) {
	*fs = append(*fs, Finding{Pos: pos, Field: field, Kind: kind, Msg: fmt.Sprintf(format, args...)})
}

// sorted returns the findings by file, line, column, then field.
func (fs findings) sorted() []Finding {
	out := slices.Clone([]Finding(fs))
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Field, b.Field),
		)
	})
	return out
}

// WriteFindings prints findings for people (a heading, then one per line) or as
// one JSON object per line.
func WriteFindings(w io.Writer, fs []Finding, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, f := range fs {
			if err := enc.Encode(map[string]Finding{"aws": f}); err != nil {
				return fmt.Errorf("print finding: %w", err)
			}
		}
		return nil
	}
	if len(fs) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "On AWS, %d features are rendered differently or stay local:\n", len(fs)); err != nil {
		return fmt.Errorf("print findings: %w", err)
	}
	for _, f := range fs {
		if _, err := fmt.Fprintln(w, "  "+f.String()); err != nil {
			return fmt.Errorf("print findings: %w", err)
		}
	}
	return nil
}
