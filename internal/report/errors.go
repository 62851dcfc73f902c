package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// ParseError is a report file that could not be read, with where when known.
type ParseError struct {
	File   string
	Format string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based, in characters; 0 when unknown
	Err    error
}

func (e *ParseError) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	return fmt.Sprintf("%s: %s report: %v", pos, e.Format, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// offsetError is what parsers return: a problem at a byte offset of the input
// (-1 when unknown), turned into a *ParseError with line and column by withFile.
type offsetError struct {
	offset int64
	err    error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }

func errorAt(offset int64, format string, args ...any) error {
	return &offsetError{offset: offset, err: fmt.Errorf(format, args...)}
}

func withFile(err error, file, format string, data []byte) error {
	pe := &ParseError{File: file, Format: format, Err: err}
	var oe *offsetError
	if errors.As(err, &oe) {
		pe.Err = oe.err
		if oe.offset >= 0 {
			pe.Line, pe.Column = lineColumn(data, oe.offset)
		}
	}
	return pe
}

// lineColumn turns a byte offset into a 1-based line and character column.
func lineColumn(data []byte, offset int64) (line, column int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

// jsonError converts an encoding/json error into an offsetError where it has one.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// Offset is just past the offending character.
		return errorAt(syntax.Offset-1, "invalid JSON: %v", err)
	case errors.As(err, &typ):
		return errorAt(typ.Offset, "%v", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorAt(-1, "truncated JSON")
	}
	return errorAt(-1, "%v", err)
}

// decodeXML decodes the root element of data into v, which must be one of the
// allowed root element names; it returns the root's name.
func decodeXML(data []byte, roots map[string]any) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Entity = xml.HTMLEntity
	d.CharsetReader = charsetReader
	for {
		before := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			return "", errorAt(-1, "empty document: no root element")
		}
		if err != nil {
			return "", xmlError(d, err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		v, allowed := roots[start.Name.Local]
		if !allowed {
			return "", errorAt(skipSpace(data, before), "root element is <%s>, expected %s", start.Name.Local, rootList(roots))
		}
		if err := d.DecodeElement(v, &start); err != nil {
			return "", xmlError(d, err)
		}
		return start.Name.Local, nil
	}
}

func xmlError(d *xml.Decoder, err error) error {
	var syntax *xml.SyntaxError
	if errors.As(err, &syntax) {
		return errorAt(d.InputOffset(), "invalid XML: %s", syntax.Msg)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorAt(d.InputOffset(), "invalid XML: unexpected end of file")
	}
	return errorAt(d.InputOffset(), "invalid XML: %v", err)
}

func skipSpace(data []byte, offset int64) int64 {
	for offset < int64(len(data)) && strings.ContainsRune(" \t\r\n", rune(data[offset])) {
		offset++
	}
	return offset
}

func rootList(roots map[string]any) string {
	names := make([]string, 0, len(roots))
	for name := range roots {
		names = append(names, "<"+name+">")
	}
	// Map order is random; keep messages stable.
	slices.Sort(names)
	return strings.Join(names, " or ")
}

// charsetReader accepts the encodings test tools write besides UTF-8.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		raw, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		runes := make([]rune, len(raw))
		for i, b := range raw {
			runes[i] = rune(b)
		}
		return strings.NewReader(string(runes)), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (allowed: UTF-8, US-ASCII, ISO-8859-1)", charset)
}
