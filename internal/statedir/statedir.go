// Package statedir keeps greenlight's state directory private to the user
// greenlight runs as. The directory holds the agent's token, the SQLite state
// (API token hashes, approvals, audit), build workspaces, artifacts and logs,
// and deployment logs: nothing in it is for another local user. Nothing else
// needs to read it either: supervised processes run as the same user, and the
// Docker driver mounts none of it (images reach the engine through its API).
package statedir

import (
	"fmt"
	"io/fs"
	"os"
)

// Perm is the state directory's mode.
const Perm fs.FileMode = 0o700

// Ensure creates dir (and its missing parents) private to its user. A dir that
// exists and is open to others (0755, as greenlight made it before) is tightened
// to Perm; opened says how it was open then, 0 when it was private or new, so
// that the caller can say so once.
func Ensure(dir string) (opened fs.FileMode, err error) {
	if err := os.MkdirAll(dir, Perm); err != nil {
		return 0, fmt.Errorf("create state directory: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return 0, fmt.Errorf("state directory: %w", err)
	}
	mode := info.Mode().Perm()
	if mode&0o077 == 0 {
		return 0, nil
	}
	if err := os.Chmod(dir, mode&^0o077); err != nil {
		return 0, fmt.Errorf("make the state directory private (chmod go-rwx %s): %w", dir, err)
	}
	return mode, nil
}
