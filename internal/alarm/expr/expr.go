// Package expr parses and evaluates CloudWatch metric math expressions
// ("100 * errors / requests"). It is pure and has no dependencies, so that both
// manifest validation and the alarm evaluator can use it.
//
// The language is the part of CloudWatch metric math that makes sense on one
// datapoint at a time (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html,
// "Metric math syntax and functions"):
//
//   - numbers (100, 0.5, 1e3) and metric ids: a lowercase letter, then letters,
//     digits and underscores (the rule for a MetricDataQuery Id);
//   - arithmetic + - * / ^ and unary minus;
//   - comparisons == != < <= > >= giving 1 (true) or 0 (false);
//   - logic AND (&&), OR (||), NOT, where 0 is false and any other value true;
//   - functions ABS, CEIL, FLOOR, MIN and MAX of two or more values (also written
//     MIN([a, b]) as CloudWatch does), and IF(condition, trueValue, falseValue).
//
// A datapoint CloudWatch cannot compute is dropped, not turned into NaN: Eval
// reports ok=false when a referenced id has no value, on division by zero, and
// whenever a result is not a finite number.
//
// Precedence, loosest first: OR, AND, NOT, comparisons (which do not chain),
// + -, * /, unary minus, ^ (right-associative, so -2^2 is -4 and 2^3^2 is 512).
package expr

import "fmt"

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
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	return p.parseExpression()
}
