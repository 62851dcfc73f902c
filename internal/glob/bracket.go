package glob

import "unicode/utf8"

// bracket compiles a bracket expression starting at c.i ('['), following Java's
// globs: a leading '!' negates, a leading '^' or '-' is literal, "a-z" is a range,
// a '-' right before ']' is literal, and '/' may not appear (a bracket expression
// never matches the separator).
func (c *compiler) bracket() error {
	start := c.i
	c.i++
	c.out.WriteString("[")
	if c.peek() == '!' {
		c.out.WriteString("^/")
		c.i++
	}
	members := c.out.Len()
	if b := c.peek(); b == '-' || b == '^' && c.src[c.i-1] == '[' {
		c.out.WriteString(`\` + string(b))
		c.i++
	}
	var last rune
	rangeStart := false
	for c.i < len(c.src) {
		r := c.take()
		switch r {
		case ']':
			if c.out.Len() == members {
				return c.fail(start, "empty brackets")
			}
			c.out.WriteString("]")
			return nil
		case '/':
			return c.fail(c.i-1, "explicit '/' inside brackets")
		case '-':
			if !rangeStart {
				return c.fail(c.i-1, "invalid range")
			}
			if done, err := c.rangeEnd(last); done || err != nil {
				return err
			}
			rangeStart = false
		default:
			c.classChar(r)
			last, rangeStart = r, true
		}
	}
	return c.fail(start, "missing ']'")
}

// rangeEnd completes "a-" with its upper bound; a '-' right before ']' is a
// literal, and done reports that the ']' closed the expression.
func (c *compiler) rangeEnd(lo rune) (done bool, err error) {
	switch c.peek() {
	case 0:
		return true, c.fail(c.i, "missing ']'")
	case ']':
		c.out.WriteString(`\-]`)
		c.i++
		return true, nil
	case '/':
		return true, c.fail(c.i, "explicit '/' inside brackets")
	}
	at := c.i
	hi := c.take()
	if hi < lo {
		return true, c.fail(at, "invalid range")
	}
	c.out.WriteString("-")
	c.classChar(hi)
	return false, nil
}

// peek is the next byte, or 0 at the end.
func (c *compiler) peek() byte {
	if c.i >= len(c.src) {
		return 0
	}
	return c.src[c.i]
}

// take consumes one character.
func (c *compiler) take() rune {
	r, size := utf8.DecodeRuneInString(c.src[c.i:])
	c.i += size
	return r
}

// classChar writes one character of a bracket expression, escaped so that it is
// literal inside a Go character class.
func (c *compiler) classChar(r rune) {
	switch r {
	case '\\', ']', '[', '^', '-':
		c.out.WriteString(`\`)
	}
	c.out.WriteRune(r)
}
