// Package tfcheck owns the static checks of greenlight's Terraform (deploy/aws):
// canonical formatting (what `terraform fmt` writes), every reference resolving
// to a declaration (resources, data sources, variables, locals, modules and their
// outputs), and IAM policy statements that grant "*" actions or "*" resources
// only with a comment saying why AWS requires it. It parses with hashicorp/hcl
// and runs nothing.
package tfcheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Problem is one finding, at its position.
type Problem struct {
	Pos  hcl.Pos
	File string
	Msg  string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Column, p.Msg)
}

func problemAt(r hcl.Range, format string, args ...any) Problem {
	return Problem{File: r.Filename, Pos: r.Start, Msg: fmt.Sprintf(format, args...)}
}

// Format reports a file that `terraform fmt` would change, at its first changed line.
func Format(path string, src []byte) *Problem {
	formatted := hclwrite.Format(src)
	if bytes.Equal(formatted, src) {
		return nil
	}
	got, want := strings.Split(string(src), "\n"), strings.Split(string(formatted), "\n")
	line := 0
	for line < len(got) && line < len(want) && got[line] == want[line] {
		line++
	}
	wantLine := ""
	if line < len(want) {
		wantLine = want[line]
	}
	return &Problem{File: path, Pos: hcl.Pos{Line: line + 1, Column: 1}, Msg: fmt.Sprintf("not formatted as terraform fmt writes it; this line would be %q", wantLine)}
}

// Module is the parsed .tf files of one directory.
type Module struct {
	Dir   string
	files map[string]*hcl.File
	src   map[string][]byte
}

// Load parses every .tf file of dir.
func Load(dir string) (*Module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	m := &Module{Dir: dir, files: map[string]*hcl.File{}, src: map[string][]byte{}}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse %s: %s", path, diags.Error())
		}
		m.files[path], m.src[path] = f, src
	}
	if len(m.files) == 0 {
		return nil, fmt.Errorf("%s: no .tf files", dir)
	}
	return m, nil
}

// bodies returns each file's body in path order.
func (m *Module) bodies() []*hclsyntax.Body {
	paths := make([]string, 0, len(m.files))
	for p := range m.files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	out := make([]*hclsyntax.Body, len(paths))
	for i, p := range paths {
		out[i] = m.files[p].Body.(*hclsyntax.Body)
	}
	return out
}
