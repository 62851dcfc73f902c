package manifest

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// parseYAML turns one YAML document into a node tree. An empty document is a null
// node at 1:1. When the tree is returned, err lists problems that still left a
// usable tree (an unknown alias, an unsupported tag), to be reported with the rest.
func parseYAML(file string, data []byte) (*node, error) {
	f, err := parseBytes(data)
	if err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	c := &yamlConverter{file: file, anchors: map[string]*node{}}
	var root *node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if root != nil {
			c.errs.add(c.pos(doc.Body), "only one YAML document is allowed in this file")
			break
		}
		root = c.convert(doc.Body, 0)
	}
	if root == nil {
		root = &node{kind: kindNull, pos: Pos{File: file, Line: 1, Column: 1}}
	}
	return root, c.errs.Err()
}

// parseFile parses YAML or JSON into a decoder's tree; ok is false when the file
// could not be read as a tree at all.
func parseFile(parse func(string, []byte) (*node, error), d *decoder, data []byte) (*node, bool) {
	root, err := parse(d.file, data)
	d.errs.merge(Pos{File: d.file, Line: 1, Column: 1}, err)
	return root, root != nil
}

// parseBytes runs goccy's parser, turning a panic on malformed input (the
// parser has had such bugs) into an error instead of a crash.
func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this input: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func yamlSyntaxError(file string, err error) error {
	var yerr yaml.Error
	if errors.As(err, &yerr) {
		p := Pos{File: file, Line: 1, Column: 1}
		if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
			p = tokenPos(file, tk)
		}
		return ErrorList{{Pos: p, Msg: "invalid YAML: " + yerr.GetMessage()}}
	}
	return ErrorList{{Pos: Pos{File: file, Line: 1, Column: 1}, Msg: "invalid YAML: " + err.Error()}}
}

type yamlConverter struct {
	file    string
	anchors map[string]*node
	errs    ErrorList
}

func tokenPos(file string, tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: tk.Position.Line, Column: max(tk.Position.Column, 1)}
}

// pos is where a node starts as the user reads it: the first key of a block mapping
// (goccy points mappings at their first ':'), the token otherwise.
func (c *yamlConverter) pos(n ast.Node) Pos {
	switch v := n.(type) {
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return c.pos(v.Values[0].Key)
		}
		return tokenPos(c.file, v.Start)
	case *ast.MappingValueNode:
		return c.pos(v.Key)
	case *ast.DocumentNode:
		return c.pos(v.Body)
	case *ast.AnchorNode:
		return c.pos(v.Value)
	case nil:
		return Pos{File: c.file}
	}
	return tokenPos(c.file, n.GetToken())
}

func (c *yamlConverter) convert(n ast.Node, depth int) *node {
	if depth > maxDepth {
		c.errs.add(c.pos(n), "nesting deeper than %d levels", maxDepth)
		return &node{kind: kindNull, pos: c.pos(n), broken: true}
	}
	switch v := n.(type) {
	case nil:
		return &node{kind: kindNull, pos: Pos{File: c.file}}
	case *ast.NullNode:
		return &node{kind: kindNull, pos: c.pos(v)}
	case *ast.StringNode:
		return c.str(v)
	case *ast.LiteralNode:
		text := ""
		if v.Value != nil {
			text = v.Value.Value
		}
		return &node{kind: kindString, pos: c.pos(v), text: text}
	case *ast.IntegerNode:
		return c.integer(v)
	case *ast.FloatNode:
		return &node{kind: kindFloat, pos: c.pos(v), text: v.GetToken().Value, f: v.Value, plain: true}
	case *ast.InfinityNode:
		return &node{kind: kindFloat, pos: c.pos(v), text: v.GetToken().Value, f: v.Value, plain: true}
	case *ast.NanNode:
		return &node{kind: kindFloat, pos: c.pos(v), text: v.GetToken().Value, f: math.NaN(), plain: true}
	case *ast.BoolNode:
		return &node{kind: kindBool, pos: c.pos(v), text: v.GetToken().Value, b: v.Value, plain: true}
	case *ast.MappingNode:
		return c.mapping(c.pos(v), v.Values, depth)
	case *ast.MappingValueNode:
		return c.mapping(c.pos(v), []*ast.MappingValueNode{v}, depth)
	case *ast.SequenceNode:
		out := &node{kind: kindSeq, pos: c.pos(v)}
		for _, item := range v.Values {
			out.items = append(out.items, c.convert(item, depth+1))
		}
		return out
	case *ast.AnchorNode:
		out := c.convert(v.Value, depth+1)
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = out
		}
		return out
	case *ast.AliasNode:
		return c.alias(v)
	case *ast.TagNode:
		return c.tagged(v, depth)
	}
	c.errs.add(c.pos(n), "unsupported YAML construct (%s)", n.Type())
	return &node{kind: kindNull, pos: c.pos(n), broken: true}
}

func (c *yamlConverter) str(v *ast.StringNode) *node {
	out := &node{kind: kindString, pos: c.pos(v), text: v.Value}
	tk := v.GetToken()
	if tk == nil {
		return out
	}
	out.plain = tk.Type == token.StringType
	origin := strings.TrimSpace(tk.Origin)
	switch tk.Type {
	case token.DoubleQuoteType:
		out.quotedVerbatim = origin == `"`+v.Value+`"` && !strings.Contains(v.Value, `\`)
	case token.SingleQuoteType:
		out.quotedVerbatim = origin == "'"+v.Value+"'"
	}
	return out
}

func (c *yamlConverter) integer(v *ast.IntegerNode) *node {
	out := &node{kind: kindInt, pos: c.pos(v), text: v.GetToken().Value, plain: true}
	switch i := v.Value.(type) {
	case int64:
		out.i = i
		out.f = float64(i)
	case uint64:
		if i > math.MaxInt64 {
			out.kind = kindFloat
		} else {
			out.i = int64(i)
		}
		out.f = float64(i)
	}
	return out
}

func (c *yamlConverter) alias(v *ast.AliasNode) *node {
	name := ""
	if v.Value != nil {
		name = v.Value.GetToken().Value
	}
	if target, ok := c.anchors[name]; ok {
		return target
	}
	c.errs.add(c.pos(v), "alias *%s refers to no anchor defined before it", name)
	return &node{kind: kindNull, pos: c.pos(v), broken: true}
}

// tagged accepts YAML's core-schema tags; !!str keeps a scalar as the text written.
// Other tags (CloudFormation's !Ref, !Sub, ...) mean nothing here.
func (c *yamlConverter) tagged(v *ast.TagNode, depth int) *node {
	tag := v.Start.Value
	out := c.convert(v.Value, depth+1)
	switch tag {
	case "!!str":
		if out.isScalar() && out.kind != kindNull {
			out = &node{kind: kindString, pos: out.pos, text: out.text}
		}
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!timestamp":
	default:
		c.errs.add(tokenPos(c.file, v.Start), "unsupported tag %s", tag)
		return &node{kind: kindNull, pos: tokenPos(c.file, v.Start), broken: true}
	}
	return out
}

// mapping builds a mapping node; "<<" merge keys add the entries of the mappings
// they name unless the mapping sets the same key itself.
func (c *yamlConverter) mapping(p Pos, pairs []*ast.MappingValueNode, depth int) *node {
	out := &node{kind: kindMap, pos: p}
	var merged []entry
	for _, pair := range pairs {
		if pair.Key != nil && pair.Key.IsMergeKey() {
			merged = append(merged, c.mergeSources(pair.Value, depth)...)
			continue
		}
		key, ok := c.key(pair.Key, depth)
		if !ok {
			continue
		}
		out.entries = append(out.entries, entry{key: key.text, pos: key.pos, value: c.convert(pair.Value, depth+1)})
	}
	for _, e := range merged {
		if out.get(e.key) == nil {
			out.entries = append(out.entries, e)
		}
	}
	return out
}

func (c *yamlConverter) key(k ast.MapKeyNode, depth int) (*node, bool) {
	var kn ast.Node = k
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		kn = mk.Value
	}
	key := c.convert(kn, depth+1)
	if !key.isScalar() {
		c.errs.add(key.pos, "a mapping key must be a string, not %s", describe(key, false))
		return nil, false
	}
	return key, true
}

func (c *yamlConverter) mergeSources(v ast.Node, depth int) []entry {
	src := c.convert(v, depth+1)
	sources := []*node{src}
	if src.kind == kindSeq {
		sources = src.items
	}
	var out []entry
	for _, s := range sources {
		if s.kind != kindMap {
			c.errs.add(s.pos, "a merge key (<<) takes a mapping or a list of mappings, not %s", describe(s, false))
			continue
		}
		out = append(out, s.entries...)
	}
	return out
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *node, isJSON bool) string {
	switch n.kind {
	case kindNull:
		if isJSON {
			return "null"
		}
		return "nothing"
	case kindString:
		return fmt.Sprintf("the string %q", clip(n.text))
	case kindInt, kindFloat:
		return "the number " + n.text
	case kindBool:
		return "the boolean " + n.text
	case kindMap:
		if isJSON {
			return "an object"
		}
		return "a mapping"
	default:
		if isJSON {
			return "an array"
		}
		return "a list"
	}
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	const limit = 60
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit]) + "..."
}
