package manifest

import (
	"fmt"
	"strings"
)

// VariableRef is one "#{Namespace.Key}" reference in an action's configuration;
// Offset is the byte offset of its "#" in the string.
type VariableRef struct {
	Namespace, Key string
	Offset         int
}

func (r VariableRef) String() string { return "#{" + r.Namespace + "." + r.Key + "}" }

// Namespaces every pipeline has besides its actions' namespaces.
const (
	NamespaceCodePipeline = "codepipeline"
	NamespaceVariables    = "variables" // pipeline-level variables
)

// CodePipelineVariables are the keys of the codepipeline namespace.
var CodePipelineVariables = []string{"PipelineExecutionId", "PipelineName"}

// VariableSyntaxError is a malformed reference at a byte offset of a string.
type VariableSyntaxError struct {
	Offset int
	Msg    string
}

func (e *VariableSyntaxError) Error() string { return e.Msg }

// VariableRefs lists the references in s in order. Every "#{" starts one: CodePipeline
// has no escape for it.
func VariableRefs(s string) ([]VariableRef, error) {
	var refs []VariableRef
	for off := 0; ; {
		i := strings.Index(s[off:], "#{")
		if i < 0 {
			return refs, nil
		}
		start := off + i
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			return refs, &VariableSyntaxError{Offset: start, Msg: fmt.Sprintf("unterminated variable reference %q: expected #{namespace.key}", clip(s[start:]))}
		}
		body := s[start+2 : start+end]
		ns, key, found := strings.Cut(body, ".")
		if !found || !isVariableName(ns) || !isVariableName(key) {
			return refs, &VariableSyntaxError{Offset: start, Msg: fmt.Sprintf("malformed variable reference %q: expected #{namespace.key} (letters, digits, @, - and _)", clip(s[start:start+end+1]))}
		}
		refs = append(refs, VariableRef{Namespace: ns, Key: key, Offset: start})
		off = start + end + 1
	}
}

// ExpandVariables replaces every reference in s with lookup's value. A reference
// lookup does not know is an error naming all of them.
func ExpandVariables(s string, lookup func(namespace, key string) (string, bool)) (string, error) {
	refs, err := VariableRefs(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	var unresolved []string
	last := 0
	for _, r := range refs {
		b.WriteString(s[last:r.Offset])
		last = r.Offset + len(r.String())
		v, ok := lookup(r.Namespace, r.Key)
		if !ok {
			unresolved = append(unresolved, r.String())
			continue
		}
		b.WriteString(v)
	}
	if len(unresolved) > 0 {
		return "", fmt.Errorf("unresolved variable %s", strings.Join(unresolved, ", "))
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// isVariableName follows CodePipeline's namespace and variable name pattern.
func isVariableName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !isNameRune(c) {
			return false
		}
	}
	return true
}

func isNameRune(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '@' || c == '-' || c == '_'
}
