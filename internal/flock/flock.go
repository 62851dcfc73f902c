// Package flock owns greenlight's file locks: exclusive flock(2) locks on a file,
// released by the kernel when the holder dies, so that a crashed agent, controller
// or command never leaves a stale lock behind.
package flock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked means another live process holds the lock.
var ErrLocked = errors.New("already running")

// Lock is a held lock.
type Lock struct{ f *os.File }

// Acquire takes the lock at path (creating the file), waiting for another holder to
// release it.
func Acquire(path string) (*Lock, error) { return lock(path, syscall.LOCK_EX) }

// TryAcquire takes the lock at path without waiting: ErrLocked when another process
// holds it.
func TryAcquire(path string) (*Lock, error) { return lock(path, syscall.LOCK_EX|syscall.LOCK_NB) }

func lock(path string, how int) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release releases the lock. It is safe to call more than once.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	// Closing the file releases the flock; the explicit unlock makes it immediate
	// even if a child process inherited the descriptor.
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// Held reports whether a live process holds the lock at path.
func Held(path string) bool {
	l, err := TryAcquire(path)
	if err != nil {
		return errors.Is(err, ErrLocked)
	}
	l.Release()
	return false
}

// File is the locked file. Handed to another process (SCM_RIGHTS), it shares
// the lock: flock(2) locks belong to the open file, so the lock is held as
// long as any process keeps a descriptor of it.
func (l *Lock) File() *os.File { return l.f }

// Adopt returns the lock held through f, a descriptor of a locked file that
// another process handed over.
func Adopt(f *os.File) *Lock { return &Lock{f: f} }

// Drop closes this process's descriptor without unlocking: the lock stays
// held by the processes it was handed to, and goes when the last of them
// closes its descriptor. It is safe to call more than once.
func (l *Lock) Drop() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Close()
	l.f = nil
}
