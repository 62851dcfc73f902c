package router

import (
	"fmt"
	"strconv"
	"strings"
)

// Matcher is a parsed health check success matcher: a list of HTTP codes and
// inclusive code ranges, as an ALB target group accepts them ("200", "200,202",
// "200-299", "200,300-399").
type Matcher []codeRange

type codeRange struct{ lo, hi int }

const matcherSyntax = `HTTP codes 100-599 as "200", "200,202" or "200-299", separated by commas`

// ParseMatcher parses an ALB-style success code matcher.
func ParseMatcher(s string) (Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("matcher is empty; want %s", matcherSyntax)
	}
	var m Matcher
	for part := range strings.SplitSeq(s, ",") {
		r, err := parseCodeRange(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("matcher %q: %w; want %s", s, err, matcherSyntax)
		}
		m = append(m, r)
	}
	return m, nil
}

func parseCodeRange(part string) (codeRange, error) {
	loText, hiText, isRange := strings.Cut(part, "-")
	lo, err := parseCode(loText)
	if err != nil {
		return codeRange{}, err
	}
	if !isRange {
		return codeRange{lo, lo}, nil
	}
	hi, err := parseCode(hiText)
	if err != nil {
		return codeRange{}, err
	}
	if hi < lo {
		return codeRange{}, fmt.Errorf("range %q ends before it starts", part)
	}
	return codeRange{lo, hi}, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 3 {
		return 0, fmt.Errorf("%q is not a three-digit HTTP code", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("%q is not an HTTP code 100-599", s)
	}
	return n, nil
}

// Match reports whether status is a success.
func (m Matcher) Match(status int) bool {
	for _, r := range m {
		if status >= r.lo && status <= r.hi {
			return true
		}
	}
	return false
}
