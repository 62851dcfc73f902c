package aws

import (
	"errors"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/aws/smithy-go"
)

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// isCode reports whether err is an AWS error of code.
func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}

// clip keeps s within n characters (AWS's length limits).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
