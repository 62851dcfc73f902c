package tfcheck

import (
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// declarations are what a module declares, by the name references use.
type declarations struct {
	names   map[string]bool     // "var.x", "local.x", "data.t.n", "t.n", "module.n"
	types   map[string]bool     // resource types declared
	modules map[string]string   // module name -> source
	outputs map[string][]string // module name -> its outputs, when its source is local
}

func (m *Module) declarations() declarations {
	d := declarations{names: map[string]bool{}, types: map[string]bool{}, modules: map[string]string{}}
	for _, body := range m.bodies() {
		for _, b := range body.Blocks {
			switch {
			case b.Type == "resource" && len(b.Labels) == 2:
				d.names[b.Labels[0]+"."+b.Labels[1]] = true
				d.types[b.Labels[0]] = true
			case b.Type == "data" && len(b.Labels) == 2:
				d.names["data."+b.Labels[0]+"."+b.Labels[1]] = true
			case b.Type == "variable" && len(b.Labels) == 1:
				d.names["var."+b.Labels[0]] = true
			case b.Type == "module" && len(b.Labels) == 1:
				d.names["module."+b.Labels[0]] = true
				d.modules[b.Labels[0]] = stringAttr(b.Body, "source")
			case b.Type == "locals":
				for name := range b.Body.Attributes {
					d.names["local."+name] = true
				}
			}
		}
	}
	return d
}

// Outputs lists the module's output names.
func (m *Module) Outputs() []string {
	var out []string
	for _, body := range m.bodies() {
		for _, b := range body.Blocks {
			if b.Type == "output" && len(b.Labels) == 1 {
				out = append(out, b.Labels[0])
			}
		}
	}
	return out
}

func stringAttr(body *hclsyntax.Body, name string) string {
	a, ok := body.Attributes[name]
	if !ok {
		return ""
	}
	if s := literal(a); len(s) == 1 {
		return s[0]
	}
	return ""
}

// UnresolvedReferences reports every reference that names nothing declared in
// the module: a resource, data source, variable, local, module, or an output of
// a module with a local source (loaded from disk).
func (m *Module) UnresolvedReferences() ([]Problem, error) {
	d := m.declarations()
	d.outputs = map[string][]string{}
	for name, source := range d.modules {
		if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
			continue
		}
		child, err := Load(filepath.Join(m.Dir, source))
		if err != nil {
			return nil, err
		}
		d.outputs[name] = child.Outputs()
	}
	var problems []Problem
	for _, body := range m.bodies() {
		problems = append(problems, d.checkBody("", body, nil)...)
	}
	return problems, nil
}

// builtinRoots are references every expression may use.
var builtinRoots = map[string]bool{"each": true, "count": true, "path": true, "self": true, "terraform": true}

// notExpressions are attributes, by block type, whose values name types or
// attributes rather than refer to anything.
var notExpressions = map[string]string{"variable": "type", "lifecycle": "ignore_changes"}

// checkBody checks every expression of body, a block of type blockType;
// iterators are the names dynamic blocks around it bind.
func (d declarations) checkBody(blockType string, body *hclsyntax.Body, iterators []string) []Problem {
	var problems []Problem
	for name, a := range body.Attributes {
		if notExpressions[blockType] == name {
			continue
		}
		for _, t := range hclsyntax.Variables(a.Expr) {
			if p := d.check(t, iterators); p != nil {
				problems = append(problems, *p)
			}
		}
	}
	for _, b := range body.Blocks {
		inner := iterators
		if b.Type == "dynamic" && len(b.Labels) == 1 {
			inner = append(append([]string{}, iterators...), dynamicIterator(b))
		}
		problems = append(problems, d.checkBody(b.Type, b.Body, inner)...)
	}
	return problems
}

func dynamicIterator(b *hclsyntax.Block) string {
	if a, ok := b.Body.Attributes["iterator"]; ok {
		if t, diags := hcl.AbsTraversalForExpr(a.Expr); !diags.HasErrors() && len(t) == 1 {
			return t.RootName()
		}
	}
	return b.Labels[0]
}

func (d declarations) check(t hcl.Traversal, iterators []string) *Problem {
	root := t.RootName()
	if builtinRoots[root] || contains(iterators, root) {
		return nil
	}
	name := refName(t)
	switch {
	case root == "var" || root == "local" || root == "data" || root == "module":
		if !d.names[name] {
			p := problemAt(t.SourceRange(), "%s is not declared", name)
			return &p
		}
		return d.checkOutput(t, name)
	case !d.types[root]:
		p := problemAt(t.SourceRange(), "%s: no resource of type %s is declared (and it is no variable, local, data source or module)", name, root)
		return &p
	case !d.names[name]:
		p := problemAt(t.SourceRange(), "resource %s is not declared", name)
		return &p
	}
	return nil
}

// checkOutput: module.n.x must name an output of module n.
func (d declarations) checkOutput(t hcl.Traversal, name string) *Problem {
	outputs, ok := d.outputs[strings.TrimPrefix(name, "module.")]
	if t.RootName() != "module" || !ok || len(t) < 3 {
		return nil
	}
	attr, isAttr := t[2].(hcl.TraverseAttr)
	if isAttr && !contains(outputs, attr.Name) {
		p := problemAt(t.SourceRange(), "%s has no output %q (outputs: %s)", name, attr.Name, strings.Join(outputs, ", "))
		return &p
	}
	return nil
}

// refName is the declaration a traversal names: var.x, data.t.n, t.n, module.n.
func refName(t hcl.Traversal) string {
	parts := []string{t.RootName()}
	want := 2
	if t.RootName() == "data" {
		want = 3
	}
	for _, step := range t[1:] {
		if len(parts) == want {
			break
		}
		attr, ok := step.(hcl.TraverseAttr)
		if !ok {
			break
		}
		parts = append(parts, attr.Name)
	}
	return strings.Join(parts, ".")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
