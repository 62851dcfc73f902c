package expr

import (
	"fmt"
	"strings"
)

// functions maps each supported function to its arity: minArgs..maxArgs (-1: any).
var functions = map[string]struct{ minArgs, maxArgs int }{
	"ABS":   {1, 1},
	"CEIL":  {1, 1},
	"FLOOR": {1, 1},
	"MIN":   {2, -1},
	"MAX":   {2, -1},
	"IF":    {3, 3},
}

const functionList = "ABS, CEIL, FLOOR, IF, MAX, MIN"

type parser struct {
	toks []token
	pos  int
}

func newParser(src string) (*parser, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// accept consumes the next token when it is one of texts (operators or keywords).
func (p *parser) accept(texts ...string) (token, bool) {
	t := p.peek()
	if t.kind != tokOp && t.kind != tokWord {
		return t, false
	}
	for _, s := range texts {
		if t.text == s {
			return p.next(), true
		}
	}
	return t, false
}

func (p *parser) expect(text, context string) error {
	if _, ok := p.accept(text); ok {
		return nil
	}
	t := p.peek()
	return &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("expected %q %s, found %s", text, context, t.describe())}
}

func (p *parser) parseExpression() (Node, error) {
	if p.peek().kind == tokEOF {
		return nil, &SyntaxError{Offset: 0, Msg: "empty expression"}
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("unexpected %s; expected an operator or the end of the expression", t.describe())}
	}
	return n, nil
}

// parseLeft parses a left-associative chain of binary operators over operand.
func (p *parser) parseLeft(operand func() (Node, error), ops ...string) (Node, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.accept(ops...)
		if !ok {
			return left, nil
		}
		right, err := operand()
		if err != nil {
			return nil, err
		}
		left = &binary{op: canonicalOp(t.text), l: left, r: right}
	}
}

func (p *parser) parseOr() (Node, error)  { return p.parseLeft(p.parseAnd, "OR", "||") }
func (p *parser) parseAnd() (Node, error) { return p.parseLeft(p.parseNot, "AND", "&&") }
func (p *parser) parseAdd() (Node, error) { return p.parseLeft(p.parseMul, "+", "-") }
func (p *parser) parseMul() (Node, error) { return p.parseLeft(p.parseUnary, "*", "/") }

func canonicalOp(op string) string {
	switch op {
	case "&&":
		return "AND"
	case "||":
		return "OR"
	}
	return op
}

func (p *parser) parseNot() (Node, error) {
	if _, ok := p.accept("NOT"); ok {
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unary{op: "NOT", x: x}, nil
	}
	return p.parseCompare()
}

var comparisons = []string{"==", "!=", "<", "<=", ">", ">="}

func (p *parser) parseCompare() (Node, error) {
	left, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	t, ok := p.accept(comparisons...)
	if !ok {
		return left, nil
	}
	right, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	if t2, ok := p.accept(comparisons...); ok {
		return nil, &SyntaxError{Offset: t2.off, Msg: "comparisons do not chain; combine them with AND or OR"}
	}
	return &binary{op: t.text, l: left, r: right}, nil
}

func (p *parser) parseUnary() (Node, error) {
	if _, ok := p.accept("-"); ok {
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &unary{op: "-", x: x}, nil
	}
	return p.parsePower()
}

func (p *parser) parsePower() (Node, error) {
	base, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	if _, ok := p.accept("^"); !ok {
		return base, nil
	}
	exp, err := p.parseUnary() // right-associative: 2^3^2 is 2^(3^2)
	if err != nil {
		return nil, err
	}
	return &binary{op: "^", l: base, r: exp}, nil
}

func (p *parser) parsePrimary() (Node, error) {
	t := p.next()
	switch t.kind {
	case tokNumber:
		return number(t.num), nil
	case tokID:
		if p.peek().text == "(" && p.peek().kind == tokOp {
			return nil, unknownFunction(t)
		}
		return ref(t.text), nil
	case tokWord:
		return p.parseCall(t)
	case tokOp:
		if t.text == "(" {
			n, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")", "to close the parenthesis"); err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return nil, &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("unexpected %s; expected a number, a metric id, a function or \"(\"", t.describe())}
}

func unknownFunction(t token) error {
	msg := fmt.Sprintf("unknown function %s; functions are %s", t.text, functionList)
	if _, ok := functions[strings.ToUpper(t.text)]; ok {
		msg = fmt.Sprintf("unknown function %s; function names are uppercase: %s", t.text, strings.ToUpper(t.text))
	}
	return &SyntaxError{Offset: t.off, Msg: msg}
}

func (p *parser) parseCall(name token) (Node, error) {
	arity, ok := functions[name.text]
	if !ok {
		switch name.text {
		case "AND", "OR":
			return nil, &SyntaxError{Offset: name.off, Msg: fmt.Sprintf("unexpected %s; expected a value before it", name.text)}
		case "NOT":
			return nil, &SyntaxError{Offset: name.off, Msg: "NOT applies to a whole condition here; put it in parentheses: (NOT x)"}
		}
		if _, lower := functions[strings.ToUpper(name.text)]; lower || (p.peek().text == "(" && p.peek().kind == tokOp) {
			return nil, unknownFunction(name)
		}
		return nil, &SyntaxError{Offset: name.off, Msg: fmt.Sprintf("%q is not a metric id (ids start with a lowercase letter) nor a function (%s)", name.text, functionList)}
	}
	if err := p.expect("(", "after "+name.text); err != nil {
		return nil, err
	}
	args, err := p.parseArgs(name.text)
	if err != nil {
		return nil, err
	}
	if len(args) < arity.minArgs || (arity.maxArgs >= 0 && len(args) > arity.maxArgs) {
		return nil, &SyntaxError{Offset: name.off, Msg: fmt.Sprintf("%s takes %s, got %d", name.text, describeArity(arity.minArgs, arity.maxArgs), len(args))}
	}
	return &call{fn: name.text, args: args}, nil
}

// parseArgs parses a call's arguments up to and including ")". MIN and MAX also take
// CloudWatch's array form, MIN([a, b]).
func (p *parser) parseArgs(fn string) ([]Node, error) {
	if fn == "MIN" || fn == "MAX" {
		if _, ok := p.accept("["); ok {
			args, err := p.parseList("]", "to close the array")
			if err != nil {
				return nil, err
			}
			return args, p.expect(")", "to close "+fn)
		}
	}
	return p.parseList(")", "to close "+fn)
}

func (p *parser) parseList(closer, context string) ([]Node, error) {
	var args []Node
	if _, ok := p.accept(closer); ok {
		return args, nil
	}
	for {
		a, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if _, ok := p.accept(","); !ok {
			return args, p.expect(closer, context)
		}
	}
}

func describeArity(minArgs, maxArgs int) string {
	switch {
	case maxArgs < 0:
		return fmt.Sprintf("%d or more arguments", minArgs)
	case minArgs == maxArgs && minArgs == 1:
		return "1 argument"
	default:
		return fmt.Sprintf("%d arguments", minArgs)
	}
}
