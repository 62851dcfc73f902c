package lambdapkg

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// writeModule makes a module with one main package.
func writeModule(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildWritesAnArm64BootstrapAndTheSameBytesTwice(t *testing.T) {
	mod := writeModule(t)
	out := filepath.Join(t.TempDir(), "build", "fn.zip")
	programs := []Program{{Name: "dist/hello", Pkg: ".", Dir: mod}, {Name: "bootstrap", Pkg: ".", Dir: mod, Tags: []string{"lambda.norpc"}}}
	if err := Build(t.Context(), out, "arm64", programs); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2 || zr.File[0].Name != "bootstrap" || zr.File[1].Name != "dist/hello" {
		t.Fatalf("entries = %v, want bootstrap then dist/hello", names(zr))
	}
	for _, f := range zr.File {
		if f.Mode().Perm() != 0o755 || !f.Modified.Equal(epoch) {
			t.Errorf("%s: mode %v, modified %v", f.Name, f.Mode(), f.Modified)
		}
		if m := machine(t, f); m != elf.EM_AARCH64 {
			t.Errorf("%s: machine %v, want EM_AARCH64", f.Name, m)
		}
	}
	if err := Build(t.Context(), out, "arm64", programs); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(out); !bytes.Equal(first, second) {
		t.Fatal("a second build of the same sources differs")
	}
}

func TestBuildFailureNamesTheProgram(t *testing.T) {
	mod := writeModule(t)
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Build(t.Context(), filepath.Join(t.TempDir(), "fn.zip"), "arm64", []Program{{Name: "bootstrap", Pkg: ".", Dir: mod}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("build bootstrap (. for linux/arm64)")) || !bytes.Contains([]byte(err.Error()), []byte("undefined")) {
		t.Fatalf("Build = %v", err)
	}
}

func names(zr *zip.Reader) []string {
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return out
}

func machine(t *testing.T, f *zip.File) elf.Machine {
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", f.Name, err)
	}
	return ef.Machine
}
