package store

import "strings"

// placeholders returns "?,?,?" for n values.
func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// toAny turns string values (of any string type) into query arguments.
func toAny[S ~string](ss []S) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
