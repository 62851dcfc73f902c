package agent

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/flock"
)

// ErrLocked means another live process holds the lock.
var ErrLocked = flock.ErrLocked

// locked reports whether a live process holds the lock at path.
func locked(path string) bool { return flock.Held(path) }

// loadOrCreateToken returns the admin token, creating a random one (0600) the first
// time.
func loadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read agent token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	if err := atomicfile.Write(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write agent token: %w", err)
	}
	return token, nil
}

// SocketPath is where the agent of stateDir listens: agent.sock in the state
// directory, or, when that path is too long for a unix socket (108 bytes on
// Linux), a private per-user directory under the temp dir, named by a hash of the
// state directory so that agent and clients agree on it.
func SocketPath(stateDir string) (string, error) {
	path := filepath.Join(stateDir, SocketFile)
	if len(path) < 100 {
		return path, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("greenlight-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("socket directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("socket directory: %w", err)
	}
	sum := sha256.Sum256([]byte(stateDir))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".sock"), nil
}
