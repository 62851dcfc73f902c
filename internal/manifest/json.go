package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// parseJSON turns one JSON value into a node tree, with positions computed from
// byte offsets and each value's source bytes kept for fields stored raw. As with
// parseYAML, a returned tree may come with problems (duplicate keys) in err.
func parseJSON(file string, data []byte) (*node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := &jsonReader{file: file, data: data, lines: newLineIndex(data)}
	r.dec = json.NewDecoder(bytes.NewReader(data))
	r.dec.UseNumber()
	root, err := r.value(0)
	if err != nil {
		return nil, r.syntaxError(err)
	}
	if off := r.skip(int(r.dec.InputOffset())); off < len(data) {
		return nil, ErrorList{{Pos: r.at(off), Msg: "invalid JSON: unexpected data after the top-level value"}}
	}
	return root, r.errs.Err()
}

type jsonReader struct {
	file  string
	data  []byte
	dec   *json.Decoder
	lines lineIndex
	errs  ErrorList
}

// errAt is a syntax error this reader finds itself, at an offset.
type errAt struct {
	off int
	msg string
}

func (e *errAt) Error() string { return e.msg }

func (r *jsonReader) at(off int) Pos { return r.lines.pos(r.file, r.data, off) }

// skip moves past what separates tokens; the decoder consumes ':' and ',' lazily.
func (r *jsonReader) skip(off int) int {
	for off < len(r.data) {
		switch r.data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func (r *jsonReader) next() (json.Token, int, error) {
	start := r.skip(int(r.dec.InputOffset()))
	tok, err := r.dec.Token()
	return tok, start, err
}

func (r *jsonReader) value(depth int) (*node, error) {
	tok, start, err := r.next()
	if err != nil {
		return nil, err
	}
	return r.valueFrom(tok, start, depth)
}

func (r *jsonReader) valueFrom(tok json.Token, start, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &errAt{off: start, msg: "nesting deeper than " + strconv.Itoa(maxDepth) + " levels"}
	}
	n := &node{pos: r.at(start)}
	switch t := tok.(type) {
	case json.Delim:
		if err := r.container(n, t, depth); err != nil {
			return nil, err
		}
	case string:
		n.kind, n.text = kindString, t
	case json.Number:
		r.number(n, t)
	case bool:
		n.kind, n.b, n.text = kindBool, t, strconv.FormatBool(t)
	case nil:
		n.kind, n.text = kindNull, "null"
	}
	n.raw = r.data[start:r.dec.InputOffset()]
	return n, nil
}

func (r *jsonReader) number(n *node, t json.Number) {
	n.text = t.String()
	if i, err := t.Int64(); err == nil {
		n.kind, n.i, n.f = kindInt, i, float64(i)
		return
	}
	f, _ := t.Float64() // out of range gives ±Inf, which range checks reject
	n.kind, n.f = kindFloat, f
}

func (r *jsonReader) container(n *node, open json.Delim, depth int) error {
	if open == '[' {
		n.kind = kindSeq
		for r.dec.More() {
			item, err := r.value(depth + 1)
			if err != nil {
				return err
			}
			n.items = append(n.items, item)
		}
		_, _, err := r.next() // ']'
		return err
	}
	n.kind = kindMap
	for r.dec.More() {
		tok, start, err := r.next()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		keyPos := r.at(start)
		if n.get(key) != nil {
			r.errs.add(keyPos, "duplicate key %q", key)
		}
		v, err := r.value(depth + 1)
		if err != nil {
			return err
		}
		n.entries = append(n.entries, entry{key: key, pos: keyPos, value: v})
	}
	_, _, err := r.next() // '}'
	return err
}

// syntaxError places a syntax error. The offsets of Decoder.Token's errors
// count from inconsistent origins, so the position comes from json.Unmarshal,
// whose offset is the number of bytes read up to and including the bad one.
func (r *jsonReader) syntaxError(err error) error {
	var own *errAt
	if errors.As(err, &own) {
		return ErrorList{{Pos: r.at(own.off), Msg: "invalid JSON: " + own.msg}}
	}
	var se *json.SyntaxError
	var v any
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
	case errors.As(json.Unmarshal(r.data, &v), &se) && se.Offset > 0 && int(se.Offset) <= len(r.data):
		return ErrorList{{Pos: r.at(max(int(se.Offset)-1, 0)), Msg: "invalid JSON: " + se.Error()}}
	case errors.As(err, &se):
		return ErrorList{{Pos: r.at(int(r.dec.InputOffset())), Msg: "invalid JSON: " + se.Error()}}
	}
	return ErrorList{{Pos: r.at(len(r.data)), Msg: "invalid JSON: unexpected end of file"}}
}

// lineIndex maps byte offsets to line:column (columns count characters).
type lineIndex []int // offset of each line's first byte

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) pos(file string, data []byte, off int) Pos {
	off = min(max(off, 0), len(data))
	line := 0
	lo, hi := 0, len(l)-1
	for lo <= hi { // last line start <= off
		mid := (lo + hi) / 2
		if l[mid] <= off {
			line, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	col := utf8.RuneCount(data[l[line]:off]) + 1
	return Pos{File: file, Line: line + 1, Column: col}
}
