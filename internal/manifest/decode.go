package manifest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// decoder turns a node tree into typed values, collecting every problem with its
// position instead of stopping at the first.
type decoder struct {
	file  string
	json  bool // JSON is typed: a number is never accepted where a string is expected
	errs  ErrorList
	warns ErrorList      // accepted, but worth saying (Definition.Warnings)
	where map[posKey]Pos // where each decoded field was written, for later checks
	// config keeps each action configuration value's node, for columns inside it.
	config map[configKey]*node
}

type configKey struct {
	action *Action
	key    string
}

type posKey struct {
	obj any
	key string
}

func newDecoder(file string, isJSON bool) *decoder {
	return &decoder{file: file, json: isJSON, where: map[posKey]Pos{}, config: map[configKey]*node{}}
}

func (d *decoder) errorf(p Pos, format string, args ...any) { d.errs.add(p, format, args...) }

func (d *decoder) warnf(p Pos, format string, args ...any) { d.warns.add(p, format, args...) }

// at is where field key of obj was written, or fallback when it was not.
func (d *decoder) at(obj any, key string, fallback Pos) Pos {
	if p, ok := d.where[posKey{obj, key}]; ok {
		return p
	}
	return fallback
}

func (d *decoder) mark(obj any, key string, p Pos) { d.where[posKey{obj, key}] = p }

// field is one key a mapping may hold.
type field struct {
	key      string
	required bool
	decode   func(v *node)
}

func opt(key string, decode func(v *node)) field { return field{key: key, decode: decode} }
func req(key string, decode func(v *node)) field {
	return field{key: key, required: true, decode: decode}
}

// ignored accepts a key and keeps nothing of it (AWS-only settings).
func ignored(key string) field { return field{key: key, decode: func(*node) {}} }

// object decodes a mapping whose keys must be among fields. Null values count as
// absent. The position of each value is recorded under owner (when not nil).
func (d *decoder) object(n *node, what string, owner any, fields ...field) bool {
	if !d.expect(n, what, kindMap) {
		return false
	}
	seen := map[string]bool{}
	for _, e := range n.entries {
		i := slices.IndexFunc(fields, func(f field) bool { return f.key == e.key })
		if i < 0 {
			d.errorf(e.pos, "%sunknown key %q (allowed: %s)", label(what), e.key, strings.Join(fieldKeys(fields), ", "))
			continue
		}
		if e.value.broken {
			seen[e.key] = true
			continue
		}
		if e.value.kind == kindNull {
			if fields[i].required {
				d.errorf(e.pos, "%s: a value is required", e.key)
				seen[e.key] = true
			}
			continue
		}
		seen[e.key] = true
		if owner != nil {
			d.mark(owner, e.key, e.value.pos)
		}
		fields[i].decode(e.value)
	}
	for _, f := range fields {
		if f.required && !seen[f.key] {
			d.errorf(n.pos, "%smissing required key %q", label(what), f.key)
		}
	}
	return true
}

func label(what string) string {
	if what == "" {
		return ""
	}
	return what + ": "
}

func fieldKeys(fields []field) []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

var kindNames = map[kind][2]string{ // YAML name, JSON name
	kindString: {"a string", "a string"},
	kindInt:    {"an integer", "an integer"},
	kindFloat:  {"a number", "a number"},
	kindBool:   {"true or false", "true or false"},
	kindMap:    {"a mapping", "an object"},
	kindSeq:    {"a list", "an array"},
}

func (d *decoder) kindName(k kind) string {
	if d.json {
		return kindNames[k][1]
	}
	return kindNames[k][0]
}

// expect reports a type mismatch unless n is of kind k.
func (d *decoder) expect(n *node, what string, k kind) bool {
	if n.kind == k {
		return true
	}
	if n.broken {
		return false
	}
	d.errorf(n.pos, "%sexpected %s, got %s", label(what), d.kindName(k), describe(n, d.json))
	return false
}

// str decodes a string. In YAML a plain number or boolean is taken as written
// (BranchName: 2024 is the branch "2024"); JSON keeps its types.
func (d *decoder) str(n *node, what string) (string, bool) {
	if n.kind == kindString || (!d.json && n.plain && n.isScalar() && n.kind != kindNull) {
		return n.text, true
	}
	d.expect(n, what, kindString)
	return "", false
}

// name decodes a string that must not be empty.
func (d *decoder) name(n *node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		d.errorf(n.pos, "%smust not be empty", label(what))
		return "", false
	}
	return s, ok
}

func (d *decoder) integer(n *node, what string) (int, bool) {
	if n.kind == kindInt && n.i >= math.MinInt32 && n.i <= math.MaxInt32 {
		return int(n.i), true
	}
	if n.kind == kindInt || (n.kind == kindFloat && !math.IsInf(n.f, 0) && !math.IsNaN(n.f) && n.f == math.Trunc(n.f)) {
		d.errorf(n.pos, "%s%s is out of range", label(what), n.text)
		return 0, false
	}
	d.expect(n, what, kindInt)
	return 0, false
}

// intIn decodes an integer within [lo, hi].
func (d *decoder) intIn(n *node, what string, lo, hi int) (int, bool) {
	v, ok := d.integer(n, what)
	if ok && (v < lo || v > hi) {
		d.errorf(n.pos, "%s%d is out of range (allowed: %d to %d)", label(what), v, lo, hi)
		return v, false
	}
	return v, ok
}

func (d *decoder) number(n *node, what string) (float64, bool) {
	v, ok := n.f, n.kind == kindInt || n.kind == kindFloat
	if !ok && !d.json && n.kind == kindString && n.plain {
		f, err := strconv.ParseFloat(n.text, 64)
		v, ok = f, err == nil
	}
	if !ok {
		d.errorf(n.pos, "%sexpected a number, got %s", label(what), describe(n, d.json))
		return 0, false
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		d.errorf(n.pos, "%sexpected a finite number, got %s", label(what), n.text)
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *node, what string) (bool, bool) {
	if !d.expect(n, what, kindBool) {
		return false, false
	}
	return n.b, true
}

// yesNo decodes the buildspec booleans, written yes/no or true/false.
func (d *decoder) yesNo(n *node, what string) (bool, bool) {
	if n.kind == kindBool {
		return n.b, true
	}
	if n.kind == kindString {
		switch strings.ToLower(n.text) {
		case "yes", "true":
			return true, true
		case "no", "false":
			return false, true
		}
	}
	d.errorf(n.pos, "%sexpected yes or no, got %s", label(what), describe(n, d.json))
	return false, false
}

// maxDuration keeps durations far from time.Duration's overflow.
const maxDuration = 100 * 365 * 24 * time.Hour

// duration decodes a Go duration string ("90s", "1h30m") or a number of seconds.
func (d *decoder) duration(n *node, what string) (Duration, bool) {
	var v time.Duration
	switch n.kind {
	case kindInt, kindFloat:
		if math.IsNaN(n.f) || math.Abs(n.f) > maxDuration.Seconds() {
			d.errorf(n.pos, "%s%s seconds is out of range", label(what), n.text)
			return 0, false
		}
		v = time.Duration(n.f * float64(time.Second))
	case kindString:
		text := strings.TrimSpace(n.text)
		if secs, err := strconv.ParseFloat(text, 64); err == nil && !math.IsNaN(secs) && math.Abs(secs) <= maxDuration.Seconds() {
			text += "s" // "90" is seconds, as 90 is
		}
		parsed, err := time.ParseDuration(text)
		if err != nil {
			d.errorf(n.pos, "%sinvalid duration %q (write a number of seconds, or a duration like 90s, 5m, 1h30m)", label(what), clip(n.text))
			return 0, false
		}
		v = parsed
	default:
		d.errorf(n.pos, "%sexpected a duration (a number of seconds, or like 90s, 5m, 1h30m), got %s", label(what), describe(n, d.json))
		return 0, false
	}
	if v < 0 {
		d.errorf(n.pos, "%sduration must not be negative", label(what))
		return 0, false
	}
	if v > maxDuration {
		d.errorf(n.pos, "%sduration %s is out of range", label(what), n.text)
		return 0, false
	}
	return Duration(v), true
}

// durationIn decodes a duration within [lo, hi].
func (d *decoder) durationIn(n *node, what string, lo, hi time.Duration) (Duration, bool) {
	v, ok := d.duration(n, what)
	if ok && (v.D() < lo || v.D() > hi) {
		d.errorf(n.pos, "%s%s is out of range (allowed: %s to %s)", label(what), fmtDuration(v.D()), fmtDuration(lo), fmtDuration(hi))
		return v, false
	}
	return v, ok
}

// fmtDuration prints durations the way users write them ("1h", not "1h0m0s").
func fmtDuration(v time.Duration) string {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// enum decodes a string that must be one of allowed.
func (d *decoder) enum(n *node, what string, allowed ...string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.errorf(n.pos, "%sunknown %q (allowed: %s)", label(what), clip(s), strings.Join(allowed, ", "))
		return s, false
	}
	return s, true
}

// list calls item for each element of a sequence.
func (d *decoder) list(n *node, what string, item func(i int, v *node)) {
	if !d.expect(n, what, kindSeq) {
		return
	}
	for i, v := range n.items {
		if !v.broken {
			item(i, v)
		}
	}
}

// strings decodes a list of strings; the position of element i is recorded under
// owner as "key[i]".
func (d *decoder) strings(n *node, what string, owner any) []string {
	var out []string
	d.list(n, what, func(i int, v *node) {
		s, ok := d.str(v, what)
		if !ok {
			return
		}
		if owner != nil {
			d.mark(owner, fmt.Sprintf("%s[%d]", what, len(out)), v.pos)
		}
		out = append(out, s)
	})
	return out
}

// mapOf calls value for each entry of a mapping, in file order.
func (d *decoder) mapOf(n *node, what string, value func(key string, keyPos Pos, v *node)) {
	if !d.expect(n, what, kindMap) {
		return
	}
	for _, e := range n.entries {
		if !e.value.broken {
			value(e.key, e.pos, e.value)
		}
	}
}

// posIn is the position of byte offset off inside a string scalar, when the text
// was written verbatim on one line; the scalar's own position otherwise.
func posIn(n *node, off int) Pos {
	col, ok := textColumn(n)
	if !ok || off < 0 || off > len(n.text) {
		return n.pos
	}
	p := n.pos
	p.Column = col + utf8.RuneCountInString(n.text[:off])
	return p
}

// textColumn is the column where a string's text starts in the source, when it is
// written there verbatim on one line.
func textColumn(n *node) (int, bool) {
	if n.kind != kindString || strings.ContainsAny(n.text, "\n\r") {
		return 0, false
	}
	if n.plain {
		return n.pos.Column, true
	}
	if n.raw != nil && len(n.raw) == len(n.text)+2 && string(n.raw[1:len(n.raw)-1]) == n.text {
		return n.pos.Column + 1, true
	}
	if n.quotedVerbatim {
		return n.pos.Column + 1, true
	}
	return 0, false
}

func itoa(i int) string { return strconv.Itoa(i) }
