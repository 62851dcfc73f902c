package gobuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildSetsTheVersionAndReportsCompilerErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/v\n\ngo 1.26\n")
	write("main.go", "package main\n\nimport \"fmt\"\n\nvar version = \"dev\"\n\nfunc main() { fmt.Print(version) }\n")
	out := filepath.Join(dir, "v")
	if err := Build(context.Background(), ".", out, Options{Dir: dir, Version: "abc1234", Static: true, Trimpath: true}); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(out).Output()
	if err != nil || string(got) != "abc1234" {
		t.Fatalf("binary printed %q, %v", got, err)
	}
	write("main.go", "package main\n\nfunc main() { undefined() }\n")
	err = Build(context.Background(), ".", out, Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Fatalf("a broken program: %v", err)
	}
}
