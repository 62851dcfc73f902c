package manifest

// kind is what a node of a parsed file holds.
type kind int

const (
	kindNull kind = iota
	kindString
	kindInt
	kindFloat
	kindBool
	kindMap
	kindSeq
)

// node is one value of a parsed YAML or JSON file with the position it was written
// at. Every format is turned into nodes first, so that decoding, positions and
// messages are the same for all of them.
type node struct {
	kind  kind
	pos   Pos
	text  string // scalars: a string's value, or a number or boolean as written
	plain bool   // a YAML scalar written without quotes
	// quotedVerbatim: a quoted YAML string whose text sits unchanged between its
	// quotes, so that offsets in it map to columns.
	quotedVerbatim bool
	i              int64
	f              float64
	b              bool
	entries        []entry // kindMap, in file order
	items          []*node // kindSeq
	raw            []byte  // JSON only: the value's source bytes
	// broken marks a value already reported as unusable (an unknown alias, an
	// unsupported tag); decoding skips it instead of piling errors on it.
	broken bool
}

type entry struct {
	key   string
	pos   Pos
	value *node
}

func (n *node) isScalar() bool { return n.kind != kindMap && n.kind != kindSeq }

// get returns the value of key in a mapping, or nil.
func (n *node) get(key string) *node {
	for _, e := range n.entries {
		if e.key == key {
			return e.value
		}
	}
	return nil
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 200
