package treecopy

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCopySkipsOutputsKeepsModesAndUnchangedFiles(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write := func(dir, name, content string, mode os.FileMode) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(src, "main.go", "package main", 0o644)
	write(src, "tools/run.sh", "#!/bin/sh", 0o755)
	write(src, "dist/binary", "x", 0o755)
	write(dst, "main.go", "package main", 0o644)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dst, "main.go"), old, old); err != nil {
		t.Fatal(err)
	}

	if err := Copy(src, dst, BuildOutputs...); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dst, "tools/run.sh")); err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("script: %v %v", info, err)
	}
	if _, err := os.Stat(filepath.Join(dst, "dist")); !os.IsNotExist(err) {
		t.Errorf("dist was copied")
	}
	if info, _ := os.Stat(filepath.Join(dst, "main.go")); !info.ModTime().Equal(old.Truncate(time.Microsecond)) && info.ModTime().After(old.Add(time.Second)) {
		t.Errorf("an unchanged file was rewritten")
	}
}
