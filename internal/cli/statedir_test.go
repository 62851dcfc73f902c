package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const openedWarning = "the state directory was open to other users (0755); it is now 0700, private to you"

// The state directory holds the agent's token, the state file (token hashes,
// approvals, audit), builds and logs: another local user reads none of it.
func TestStateDirectoryIsPrivateToItsUser(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo", ".greenlight")
	if out, err := greenlight(t, dir, "tokens", "create", "ci", "--role", "viewer"); err != nil || strings.Contains(out, openedWarning) {
		t.Fatalf("tokens create: %v\n%s", err, out)
	}
	wantMode(t, dir, 0o700)
	wantMode(t, filepath.Join(dir, "state.db"), 0o600)
}

// A state directory made before (0755) is tightened when greenlight opens it,
// and the log says so the once it happens.
func TestAnOpenStateDirectoryIsTightenedAndSaysSo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".greenlight")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	out, err := greenlight(t, dir, "tokens", "list")
	if err != nil || strings.Count(out, openedWarning) != 1 {
		t.Fatalf("tokens list on a 0755 state directory: %v, want one line saying %q\n%s", err, openedWarning, out)
	}
	wantMode(t, dir, 0o700)
	if out, err := greenlight(t, dir, "tokens", "list"); err != nil || strings.Contains(out, "open to other users") {
		t.Errorf("tokens list again: %v, want no warning\n%s", err, out)
	}
}

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s is %#o, want %#o", path, got, want)
	}
}
