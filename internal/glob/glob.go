// Package glob owns the pattern language of CodePipeline trigger filters (branches,
// tags and file paths), so that greenlight.yaml is validated and matched with one
// implementation. CodePipeline documents its rules in "Working with glob patterns in
// syntax" (docs.aws.amazon.com/codepipeline/latest/userguide/syntax-glob.html); they
// are Java NIO's glob rules, which differ from path.Match and doublestar where it
// matters for branch names:
//
//   - `*` matches zero or more characters within a path component (never `/`);
//   - `**` matches zero or more characters across components, wherever it stands
//     (`release**` matches `release/1.2/hotfix`);
//   - `?` matches one character other than `/`;
//   - `[abc]`, `[a-z]`, `[!a-c]` match one character other than `/` out of a set;
//     inside brackets `*`, `?` and `\` match themselves and `-` is literal when it
//     comes first (or first after `!`);
//   - `{a,b}` matches either subpattern; groups cannot be nested;
//   - `\` escapes the next character.
//
// A pattern matches a whole name, never a part of it.
package glob

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Pattern is a compiled glob.
type Pattern struct {
	text string
	re   *regexp.Regexp
}

// SyntaxError says what is wrong with a pattern and at which byte offset.
type SyntaxError struct {
	Pattern string
	Offset  int
	Msg     string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("glob %q: %s at offset %d", e.Pattern, e.Msg, e.Offset)
}

// Compile parses a pattern.
func Compile(pattern string) (*Pattern, error) {
	if !utf8.ValidString(pattern) {
		return nil, &SyntaxError{Pattern: pattern, Msg: "not valid UTF-8"}
	}
	c := compiler{src: pattern}
	expr, err := c.compile()
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(expr)
	if err != nil { // what compile emits always compiles; this is a guard
		return nil, &SyntaxError{Pattern: pattern, Msg: err.Error()}
	}
	return &Pattern{text: pattern, re: re}, nil
}

// MustCompile is Compile for patterns known to be valid (tests, constants).
func MustCompile(pattern string) *Pattern {
	p, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

// Match reports whether name matches the whole pattern.
func (p *Pattern) Match(name string) bool { return p.re.MatchString(name) }

func (p *Pattern) String() string { return p.text }

// compiler turns a glob into an anchored regular expression, one character at a
// time, the way Java's Globs.toRegexPattern does.
type compiler struct {
	src     string
	i       int
	out     strings.Builder
	inGroup bool
}

func (c *compiler) fail(at int, msg string) error {
	return &SyntaxError{Pattern: c.src, Offset: at, Msg: msg}
}

func (c *compiler) compile() (string, error) {
	c.out.WriteString("^")
	for c.i < len(c.src) {
		if err := c.next(); err != nil {
			return "", err
		}
	}
	if c.inGroup {
		return "", c.fail(len(c.src), "missing '}'")
	}
	c.out.WriteString("$")
	return c.out.String(), nil
}

func (c *compiler) next() error {
	ch := c.src[c.i]
	switch ch {
	case '\\':
		if c.i+1 >= len(c.src) {
			return c.fail(c.i, "no character to escape")
		}
		c.literal(c.src[c.i+1 : c.i+2])
		c.i += 2
		return nil
	case '[':
		return c.bracket()
	case '{':
		if c.inGroup {
			return c.fail(c.i, "cannot nest groups")
		}
		c.out.WriteString("(?:")
		c.inGroup = true
	case '}':
		if !c.inGroup {
			c.literal("}")
			break
		}
		c.out.WriteString(")")
		c.inGroup = false
	case ',':
		if c.inGroup {
			c.out.WriteString("|")
		} else {
			c.literal(",")
		}
	case '*':
		if c.i+1 < len(c.src) && c.src[c.i+1] == '*' {
			c.out.WriteString("(?s:.*)")
			c.i++
		} else {
			c.out.WriteString("[^/]*")
		}
	case '?':
		c.out.WriteString("[^/]")
	default:
		c.i += c.rune()
		return nil
	}
	c.i++
	return nil
}

// rune copies one (possibly multi-byte) literal character and returns its size.
func (c *compiler) rune() int {
	size := 1
	for c.i+size < len(c.src) && !startsRune(c.src[c.i+size]) {
		size++
	}
	c.literal(c.src[c.i : c.i+size])
	return size
}

func startsRune(b byte) bool { return b&0xC0 != 0x80 }

func (c *compiler) literal(s string) { c.out.WriteString(regexp.QuoteMeta(s)) }
