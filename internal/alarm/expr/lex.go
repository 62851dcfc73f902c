package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxLen is CloudWatch's limit on a MetricDataQuery Expression (2048 characters,
// GetMetricData API reference), which also bounds how deep the parser recurses.
const maxLen = 2048

type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokNumber           // 100, 0.5, 1e3
	tokID               // a metric id: lowercase letter, then letters, digits, _
	tokWord             // an uppercase word: a function or AND, OR, NOT
	tokOp               // punctuation and operators
)

type token struct {
	kind tokenKind
	text string
	num  float64
	off  int
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokNumber:
		return "number " + t.text
	case tokID:
		return "metric id " + t.text
	default:
		return fmt.Sprintf("%q", t.text)
	}
}

// lex splits src into tokens, ending with tokEOF.
func lex(src string) ([]token, error) {
	if len(src) > maxLen {
		return nil, &SyntaxError{Offset: maxLen, Msg: fmt.Sprintf("expression is longer than %d characters", maxLen)}
	}
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			t, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.text)
		case isLetter(c):
			j := i + 1
			for j < len(src) && isIDChar(src[j]) {
				j++
			}
			kind := tokWord
			if c >= 'a' && c <= 'z' {
				kind = tokID
			}
			toks = append(toks, token{kind: kind, text: src[i:j], off: i})
			i = j
		default:
			op, err := lexOperator(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokOp, text: op, off: i})
			i += len(op)
		}
	}
	return append(toks, token{kind: tokEOF, off: len(src)}), nil
}

func lexNumber(src string, start int) (token, error) {
	i := start
	digits := func() {
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	digits()
	if i < len(src) && src[i] == '.' {
		i++
		digits()
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(src[j]) {
			i = j
			digits()
		}
	}
	if i < len(src) && (isIDChar(src[i]) || src[i] == '.') {
		return token{}, &SyntaxError{Offset: i, Msg: fmt.Sprintf("malformed number %q", src[start:i+1])}
	}
	text := src[start:i]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) {
		return token{}, &SyntaxError{Offset: start, Msg: fmt.Sprintf("number %s is out of range", text)}
	}
	return token{kind: tokNumber, text: text, num: v, off: start}, nil
}

// operators, longest first so that "<=" wins over "<".
var operators = []string{"==", "!=", "<=", ">=", "&&", "||", "+", "-", "*", "/", "^", "<", ">", "(", ")", "[", "]", ","}

func lexOperator(src string, i int) (string, error) {
	for _, op := range operators {
		if strings.HasPrefix(src[i:], op) {
			return op, nil
		}
	}
	switch src[i] {
	case '=':
		return "", &SyntaxError{Offset: i, Msg: `"=" is not an operator; compare with "=="`}
	case '!':
		return "", &SyntaxError{Offset: i, Msg: `"!" is not an operator; use "!=" or NOT`}
	case '&', '|':
		return "", &SyntaxError{Offset: i, Msg: fmt.Sprintf("%q is not an operator; use AND (&&) or OR (||)", src[i])}
	case '_':
		return "", &SyntaxError{Offset: i, Msg: "a metric id must start with a lowercase letter"}
	}
	r := []rune(src[i:])[0]
	return "", &SyntaxError{Offset: i, Msg: fmt.Sprintf("unexpected character %q; expected a number, a metric id, a function, or one of + - * / ^ == != < <= > >= ( ) [ ] ,", r)}
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isIDChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }
