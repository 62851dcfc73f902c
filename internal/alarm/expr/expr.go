// Package expr parses and evaluates CloudWatch metric math expressions
// ("100 * errors / requests"). It is pure and has no dependencies, so that both
// manifest validation and the alarm evaluator can use it.
package expr

import (
	"errors"
	"fmt"
)

// Node is a parsed expression.
type Node interface {
	// Eval computes the expression; vars returns the value of a metric id and
	// whether it has one. ok is false when a referenced id has no value or the
	// result is not a finite number (0/0): CloudWatch then emits no datapoint.
	Eval(vars func(id string) (float64, bool)) (v float64, ok bool)
	// Refs lists the metric ids the expression reads, each once, in order of first use.
	Refs() []string
	String() string
}

// SyntaxError is a parse error at a byte offset of the expression.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Offset+1, e.Msg) }

// Parse parses an expression.
func Parse(src string) (Node, error) {
	// Placeholder until the real parser lands (internal/alarm owner).
	return nil, errors.New("metric math is not implemented yet")
}
