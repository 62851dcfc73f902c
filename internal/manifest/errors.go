package manifest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a file a user wrote, at the position it was found.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// ErrorList is every problem found in one or more files, sorted by position.
type ErrorList []*Error

// Error prints one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Err returns the list sorted by position, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	sorted := slices.Clone(l)
	sortErrors(sorted)
	return sorted
}

func (l *ErrorList) add(p Pos, format string, args ...any) {
	*l = append(*l, &Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// merge appends the problems of err: its *Error values when it carries them, or err
// itself at p otherwise.
func (l *ErrorList) merge(p Pos, err error) {
	switch e := err.(type) {
	case nil:
	case ErrorList:
		*l = append(*l, e...)
	case *Error:
		*l = append(*l, e)
	default:
		*l = append(*l, &Error{Pos: p, Msg: err.Error()})
	}
}

// emptyFile reports a file with nothing in it.
func emptyFile(path, expected string) error {
	return ErrorList{{Pos: Pos{File: path, Line: 1, Column: 1}, Msg: "the file is empty; expected " + expected}}
}

func sortErrors(l ErrorList) {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
		)
	})
}
