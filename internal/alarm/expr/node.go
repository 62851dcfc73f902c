package expr

import (
	"math"
	"strconv"
	"strings"
)

type (
	number float64
	ref    string
	unary  struct {
		op string // "-" or "NOT"
		x  Node
	}
	binary struct {
		op   string // + - * / ^ == != < <= > >= AND OR
		l, r Node
	}
	call struct {
		fn   string
		args []Node
	}
)

// Precedence levels, loosest first; String uses them to print the fewest
// parentheses that parse back to the same tree.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCompare
	precAdd
	precMul
	precNeg
	precPow
	precPrimary
)

func precedence(n Node) int {
	switch n := n.(type) {
	case *unary:
		if n.op == "NOT" {
			return precNot
		}
		return precNeg
	case *binary:
		switch n.op {
		case "OR":
			return precOr
		case "AND":
			return precAnd
		case "+", "-":
			return precAdd
		case "*", "/":
			return precMul
		case "^":
			return precPow
		default:
			return precCompare
		}
	}
	return precPrimary
}

func finite(v float64) (float64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

func truth(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (n number) Eval(func(string) (float64, bool)) (float64, bool) { return float64(n), true }

func (n ref) Eval(vars func(string) (float64, bool)) (float64, bool) {
	v, ok := vars(string(n))
	if !ok {
		return 0, false
	}
	return finite(v)
}

func (n *unary) Eval(vars func(string) (float64, bool)) (float64, bool) {
	x, ok := n.x.Eval(vars)
	if !ok {
		return 0, false
	}
	if n.op == "NOT" {
		return truth(x == 0), true
	}
	return -x, true
}

func (n *binary) Eval(vars func(string) (float64, bool)) (float64, bool) {
	l, ok := n.l.Eval(vars)
	if !ok {
		return 0, false
	}
	r, ok := n.r.Eval(vars)
	if !ok {
		return 0, false
	}
	switch n.op {
	case "+":
		return finite(l + r)
	case "-":
		return finite(l - r)
	case "*":
		return finite(l * r)
	case "/":
		if r == 0 {
			return 0, false // CloudWatch drops a datapoint it cannot compute
		}
		return finite(l / r)
	case "^":
		return finite(math.Pow(l, r))
	case "==":
		return truth(l == r), true
	case "!=":
		return truth(l != r), true
	case "<":
		return truth(l < r), true
	case "<=":
		return truth(l <= r), true
	case ">":
		return truth(l > r), true
	case ">=":
		return truth(l >= r), true
	case "AND":
		return truth(l != 0 && r != 0), true
	case "OR":
		return truth(l != 0 || r != 0), true
	}
	panic("expr: unknown operator " + n.op)
}

func (n *call) Eval(vars func(string) (float64, bool)) (float64, bool) {
	switch n.fn {
	case "IF":
		// Only the chosen branch must have a value, so that
		// IF(requests > 0, errors / requests, 0) has a datapoint with no requests.
		cond, ok := n.args[0].Eval(vars)
		if !ok {
			return 0, false
		}
		if cond != 0 {
			return n.args[1].Eval(vars)
		}
		return n.args[2].Eval(vars)
	case "MIN", "MAX":
		return n.extreme(vars)
	}
	x, ok := n.args[0].Eval(vars)
	if !ok {
		return 0, false
	}
	switch n.fn {
	case "ABS":
		return math.Abs(x), true
	case "CEIL":
		return math.Ceil(x), true
	case "FLOOR":
		return math.Floor(x), true
	}
	panic("expr: unknown function " + n.fn)
}

// extreme is MIN or MAX over the arguments that have a value, as CloudWatch's
// MIN([m1, m2]) takes the values present at each timestamp; no value when none has.
func (n *call) extreme(vars func(string) (float64, bool)) (float64, bool) {
	var best float64
	found := false
	for _, a := range n.args {
		v, ok := a.Eval(vars)
		if !ok {
			continue
		}
		if !found || (n.fn == "MIN" && v < best) || (n.fn == "MAX" && v > best) {
			best, found = v, true
		}
	}
	return best, found
}

func (n number) Refs() []string  { return collectRefs(n) }
func (n ref) Refs() []string     { return collectRefs(n) }
func (n *unary) Refs() []string  { return collectRefs(n) }
func (n *binary) Refs() []string { return collectRefs(n) }
func (n *call) Refs() []string   { return collectRefs(n) }

func collectRefs(root Node) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(Node)
	walk = func(n Node) {
		switch n := n.(type) {
		case ref:
			if !seen[string(n)] {
				seen[string(n)] = true
				out = append(out, string(n))
			}
		case *unary:
			walk(n.x)
		case *binary:
			walk(n.l)
			walk(n.r)
		case *call:
			for _, a := range n.args {
				walk(a)
			}
		}
	}
	walk(root)
	return out
}

func (n number) String() string { return strconv.FormatFloat(float64(n), 'g', -1, 64) }
func (n ref) String() string    { return string(n) }

func (n *unary) String() string {
	operandPrec, sep := precNeg, ""
	if n.op == "NOT" {
		operandPrec, sep = precNot, " "
	}
	return n.op + sep + wrap(n.x, precedence(n.x) < operandPrec)
}

func (n *binary) String() string {
	p := precedence(n)
	var leftParens, rightParens bool
	switch p {
	case precCompare: // comparisons do not chain
		leftParens, rightParens = precedence(n.l) <= p, precedence(n.r) <= p
	case precPow: // base is a primary; the exponent may be a unary minus
		leftParens, rightParens = precedence(n.l) < precPrimary, precedence(n.r) < precNeg
	default: // left-associative
		leftParens, rightParens = precedence(n.l) < p, precedence(n.r) <= p
	}
	op := " " + n.op + " "
	if n.op == "^" {
		op = "^"
	}
	return wrap(n.l, leftParens) + op + wrap(n.r, rightParens)
}

func (n *call) String() string {
	args := make([]string, len(n.args))
	for i, a := range n.args {
		args[i] = a.String()
	}
	return n.fn + "(" + strings.Join(args, ", ") + ")"
}

func wrap(n Node, parens bool) string {
	if parens {
		return "(" + n.String() + ")"
	}
	return n.String()
}
