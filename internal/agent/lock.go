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
	"syscall"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
)

// fileLock is an exclusive flock: held for the life of a process, released by the
// kernel when it dies, so a crashed agent or controller never leaves a stale lock.
type fileLock struct{ f *os.File }

// ErrLocked means another live process holds the lock.
var ErrLocked = errors.New("already running")

func acquireLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) release() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// locked reports whether a live process holds the lock at path.
func locked(path string) bool {
	l, err := acquireLock(path)
	if err != nil {
		return errors.Is(err, ErrLocked)
	}
	l.release()
	return false
}

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
