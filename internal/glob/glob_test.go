package glob

import (
	"errors"
	"testing"
)

// The cases follow CodePipeline's "Working with glob patterns in syntax" page and
// the trigger filter examples of "Add trigger with code push or pull request event
// types" (branches feature/**, release/**, mainline; file paths projectA/**,
// common/**/*.js, **/README.md).
func TestMatchFollowsCodePipelineRules(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		// The page's own examples.
		{"*.java", "Main.java", true},
		{"*.java", "src/Main.java", false}, // * stays within a component
		{"*.*", "file.txt", true},
		{"*.*", "Makefile", false},
		{"*.{java,class}", "A.class", true},
		{"*.{java,class}", "A.jar", false},
		{"foo.?", "foo.c", true},
		{"foo.?", "foo.cc", false},
		{"my-file.jar", "my-file.jar", true},
		{"directory/my-file.jar", "directory/my-file.jar", true},
		{"**", "a/b/c.txt", true},
		{"directory/**", "directory/a/b", true},
		{"directory/**", "directory", false},
		{"directory/*", "directory/a", true},
		{"directory/*", "directory/a/b", false},
		// Trigger filter examples.
		{"feature/**", "feature/login/oauth", true},
		{"feature/*", "feature/login/oauth", false},
		{"release/**", "release/1.2", true},
		{"mainline", "mainline", true},
		{"mainline", "mainline-old", false}, // a pattern matches the whole name
		{"main*", "mainline", true},
		{"projectA/**", "projectA/src/a.go", true},
		{"common/**/*.js", "common/ui/x/app.js", true},
		{"common/**/*.js", "common/app.js", false}, // the "/" after ** is literal
		{"**/README.md", "docs/README.md", true},
		{"**/README.md", "README.md", false},
		{"release-v[0-9]", "release-v1", true},
		{"release-v[0-9]", "release-v10", false},
		{"release-v[!0-1]", "release-v2", true},
		{"release-v[!0-1]", "release-v1", false},
		{"v[-.]1", "v-1", true},
		{"v[a-]", "v-", true},
		{"[*?\\]x", "?x", true}, // inside brackets *, ? and \ match themselves
		{"[*?\\]x", "\\x", true},
		{"release**", "release/1.2/hotfix", true}, // ** crosses components anywhere
		{"a?c", "a/c", false},
		{"a[!b]c", "a/c", false},
		{`\*`, "*", true},
		{`\*`, "x", false},
		{`a\{b,c\}`, "a{b,c}", true},
		{"a,b", "a,b", true}, // a comma outside a group is literal
		{"x}", "x}", true},
		{"{main,release/**}", "release/2", true},
		{"{main,release/**}", "develop", false},
		{"naïve-*", "naïve-branch", true},
		{"v1.2", "v1x2", false}, // . is literal
	} {
		p, err := Compile(c.pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.pattern, err)
			continue
		}
		if got := p.Match(c.name); got != c.want {
			t.Errorf("%q matching %q = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		pattern string
		offset  int
		msg     string
	}{
		{`abc\`, 3, "no character to escape"},
		{"a[bc", 1, "missing ']'"},
		{"{a,{b}}", 3, "cannot nest groups"},
		{"{a,b", 4, "missing '}'"},
		{"[a/b]", 2, "explicit '/' inside brackets"},
		{"[z-a]", 3, "invalid range"},
		{"[]", 0, "empty brackets"},
		{"[a-", 3, "missing ']'"},
	} {
		_, err := Compile(c.pattern)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a syntax error", c.pattern, err)
			continue
		}
		if se.Offset != c.offset || se.Msg != c.msg {
			t.Errorf("Compile(%q): %q at %d, want %q at %d", c.pattern, se.Msg, se.Offset, c.msg, c.offset)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"*.{java,class}", "feature/**", "[!a-c]x", `\`, "[", "{a,{b}}", "[z-a]", "a**b?[-]"} {
		f.Add(s, "feature/a.java")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := Compile(pattern)
		var se *SyntaxError
		switch {
		case err != nil && (!errors.As(err, &se) || se.Offset < 0 || se.Offset > len(pattern)):
			t.Fatalf("Compile(%q): %v", pattern, err)
		case err == nil:
			p.Match(name)
			// A pattern without special characters matches exactly itself.
			if !containsAny(pattern, `*?[]{}\,`) && !p.Match(pattern) {
				t.Fatalf("literal %q does not match itself", pattern)
			}
		}
	})
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, r := range s {
			if r == c {
				return true
			}
		}
	}
	return false
}
