package manifest

import (
	"errors"
	"reflect"
	"testing"
)

func TestVariableRefs(t *testing.T) {
	refs, err := VariableRefs("#{SourceVariables.CommitId}-x-#{codepipeline.PipelineExecutionId}#{variables.env-1}")
	mustNotFail(t, err)
	want := []VariableRef{
		{Namespace: "SourceVariables", Key: "CommitId", Offset: 0},
		{Namespace: "codepipeline", Key: "PipelineExecutionId", Offset: 30},
		{Namespace: "variables", Key: "env-1", Offset: 65},
	}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("refs = %+v", refs)
	}
	if refs, err := VariableRefs("no references, # { } #"); err != nil || refs != nil {
		t.Errorf("plain text: %v, %v", refs, err)
	}

	for _, tc := range []struct {
		in     string
		offset int
		msg    string
	}{
		{"ok #{a.b} then #{unterminated", 15, `unterminated variable reference "#{unterminated": expected #{namespace.key}`},
		{"#{nodot}", 0, `malformed variable reference "#{nodot}": expected #{namespace.key} (letters, digits, @, - and _)`},
		{"x #{a.}", 2, `malformed variable reference "#{a.}": expected #{namespace.key} (letters, digits, @, - and _)`},
		{"#{a b.c}", 0, `malformed variable reference "#{a b.c}": expected #{namespace.key} (letters, digits, @, - and _)`},
	} {
		_, err := VariableRefs(tc.in)
		var serr *VariableSyntaxError
		if !errors.As(err, &serr) || serr.Offset != tc.offset || serr.Msg != tc.msg {
			t.Errorf("VariableRefs(%q) = %v, want offset %d: %s", tc.in, err, tc.offset, tc.msg)
		}
	}
}

func TestExpandVariables(t *testing.T) {
	values := map[string]string{"SourceVariables.CommitId": "abc1234", "variables.Env": "prod"}
	lookup := func(ns, key string) (string, bool) {
		v, ok := values[ns+"."+key]
		return v, ok
	}
	got, err := ExpandVariables("deploy #{SourceVariables.CommitId} to #{variables.Env}!", lookup)
	if err != nil || got != "deploy abc1234 to prod!" {
		t.Errorf("ExpandVariables = %q, %v", got, err)
	}
	_, err = ExpandVariables("#{a.b} #{variables.Env} #{c.d}", lookup)
	if err == nil || err.Error() != "unresolved variable #{a.b}, #{c.d}" {
		t.Errorf("unresolved: %v", err)
	}
	if _, err := ExpandVariables("#{bad", lookup); err == nil {
		t.Error("malformed reference expanded")
	}
}

func TestErrorList(t *testing.T) {
	var list ErrorList
	list.add(Pos{File: "b.yaml", Line: 1, Column: 1}, "third")
	list.add(Pos{File: "a.yaml", Line: 2, Column: 5}, "second")
	list.add(Pos{File: "a.yaml", Line: 2, Column: 1}, "first")
	list.add(Pos{File: "c.yaml"}, "no line")
	err := list.Err()
	want := "a.yaml:2:1: first\na.yaml:2:5: second\nb.yaml:1:1: third\nc.yaml: no line"
	if err.Error() != want {
		t.Errorf("Error() = %q", err.Error())
	}
	var one *Error
	if !errors.As(err, &one) || one.Msg != "first" {
		t.Errorf("errors.As found %v", one)
	}
	if (ErrorList{}).Err() != nil {
		t.Error("an empty list is not an error")
	}
}
