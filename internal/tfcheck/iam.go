package tfcheck

import (
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ReasonMarker is what the comment above a statement granting "*" must say.
const ReasonMarker = "AWS requires"

// IAMWildcards reports every Allow statement of an aws_iam_policy_document that
// grants all actions of a service ("*", "s3:*") or all resources ("*") without a
// comment right above it saying why AWS requires it.
func (m *Module) IAMWildcards() []Problem {
	var problems []Problem
	for path, f := range m.files {
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type == "data" && len(b.Labels) == 2 && b.Labels[0] == "aws_iam_policy_document" {
				problems = append(problems, m.checkStatements(path, b.Body)...)
			}
		}
	}
	return problems
}

func (m *Module) checkStatements(path string, doc *hclsyntax.Body) []Problem {
	var problems []Problem
	for _, b := range doc.Blocks {
		statement, at := b.Body, b
		if b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "statement" {
			for _, c := range b.Body.Blocks {
				if c.Type == "content" {
					statement = c.Body
				}
			}
		} else if b.Type != "statement" {
			continue
		}
		what := grantsEverything(statement)
		if what == "" || m.hasReason(path, at) {
			continue
		}
		problems = append(problems, problemAt(at.DefRange(), "statement grants %s without a comment above it saying why (%q)", what, ReasonMarker))
	}
	return problems
}

// grantsEverything names what an Allow statement grants without limit, or "".
func grantsEverything(statement *hclsyntax.Body) string {
	if effect := literal(statement.Attributes["effect"]); len(effect) == 1 && effect[0] == "Deny" {
		return ""
	}
	var what []string
	for _, key := range []string{"actions", "not_actions"} {
		for _, a := range literal(statement.Attributes[key]) {
			if a == "*" || strings.HasSuffix(a, ":*") {
				what = append(what, key+" "+a)
			}
		}
	}
	for _, key := range []string{"resources", "not_resources"} {
		for _, r := range literal(statement.Attributes[key]) {
			if r == "*" {
				what = append(what, key+" *")
			}
		}
	}
	return strings.Join(what, ", ")
}

// literal returns the literal strings of a list attribute (references skipped).
func literal(a *hclsyntax.Attribute) []string {
	if a == nil {
		return nil
	}
	exprs := []hclsyntax.Expression{a.Expr}
	if tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
		exprs = tuple.Exprs
	}
	var out []string
	for _, e := range exprs {
		if len(e.Variables()) > 0 {
			continue
		}
		v, diags := e.Value(nil)
		if !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			out = append(out, v.AsString())
		}
	}
	return out
}

// hasReason: the comment lines right above the block carry the reason marker.
func (m *Module) hasReason(path string, b *hclsyntax.Block) bool {
	lines := strings.Split(string(m.src[path]), "\n")
	var comment []string
	for i := b.DefRange().Start.Line - 2; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "//") {
			break
		}
		comment = append(comment, line)
	}
	return strings.Contains(strings.Join(comment, " "), ReasonMarker)
}
