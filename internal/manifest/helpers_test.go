package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// assertErrors checks that err lists exactly want, one problem per line, in order,
// and that every problem is an *Error carrying a full position. On a mismatch it
// shows the source text at each position found, to tell a wrong column from a
// wrong expectation.
func assertErrors(t *testing.T, src string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want:\n%s", strings.Join(want, "\n"))
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s\nsource at each position:\n%s", got, strings.Join(want, "\n"), annotate(src, err))
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want an ErrorList", err)
	}
	for _, e := range list {
		if e.Pos.File == "" || e.Pos.Line == 0 || e.Pos.Column == 0 {
			t.Errorf("error without a full position: %q", e.Error())
		}
	}
}

func annotate(src string, err error) string {
	var list ErrorList
	if !errors.As(err, &list) {
		return ""
	}
	lines := strings.Split(src, "\n")
	var b strings.Builder
	for _, e := range list {
		at := ""
		if e.Pos.Line >= 1 && e.Pos.Line <= len(lines) {
			r := []rune(lines[e.Pos.Line-1])
			if c := e.Pos.Column - 1; c >= 0 && c <= len(r) {
				at = string(r[c:min(c+30, len(r))])
			}
		}
		fmt.Fprintf(&b, "%d:%d [%s] %s\n", e.Pos.Line, e.Pos.Column, at, clip(e.Msg))
	}
	return b.String()
}

func mustNotFail(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error:\n%v", err)
	}
}
