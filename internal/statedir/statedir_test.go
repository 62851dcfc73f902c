package statedir_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/statedir"
)

func TestEnsure(t *testing.T) {
	parent := t.TempDir()
	fresh := filepath.Join(parent, "a", "b")
	if opened, err := statedir.Ensure(fresh); err != nil || opened != 0 {
		t.Fatalf("Ensure(new dir) = %#o, %v; want 0, nil", opened, err)
	}
	wantPerm(t, fresh, 0o700)

	open := filepath.Join(parent, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o775); err != nil {
		t.Fatal(err)
	}
	if opened, err := statedir.Ensure(open); err != nil || opened != 0o775 {
		t.Fatalf("Ensure(0775 dir) = %#o, %v; want 0775, nil", opened, err)
	}
	wantPerm(t, open, 0o700)
	if opened, err := statedir.Ensure(open); err != nil || opened != 0 {
		t.Fatalf("Ensure again = %#o, %v; want 0, nil", opened, err)
	}

	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := statedir.Ensure(file); err == nil {
		t.Error("Ensure(a file) succeeded")
	}
}

func wantPerm(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s is %#o, want %#o", path, got, want)
	}
}
