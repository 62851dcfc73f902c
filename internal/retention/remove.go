package retention

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/build"
)

// remove removes path, all but the folders deployments need inside it, and
// reports what went.
func (p *plan) remove(kind Kind, path, reason string) ([]Item, error) {
	path = filepath.Clean(path)
	var inside []string
	for _, n := range p.needed {
		if n == path || strings.HasPrefix(path, n+string(filepath.Separator)) {
			return nil, nil // needed as a whole
		}
		if strings.HasPrefix(n, path+string(filepath.Separator)) {
			inside = append(inside, n)
		}
	}
	if len(inside) == 0 {
		return p.removeWhole(kind, path, reason)
	}
	// Part of it is needed: go down and remove the rest.
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("remove %s: %w", p.rel(path), err)
	}
	var items []Item
	var errs []error
	for _, e := range entries {
		got, err := p.remove(kind, filepath.Join(path, e.Name()), reason+"; the rest is a deployment's revision")
		items, errs = append(items, got...), append(errs, err)
	}
	return items, errors.Join(errs...)
}

func (p *plan) removeWhole(kind Kind, path, reason string) ([]Item, error) {
	item := Item{Kind: kind, Path: p.rel(path), Bytes: build.DiskUsage(path), Reason: reason}
	if !p.c.DryRun {
		if err := build.RemoveTree(path); err != nil {
			return nil, fmt.Errorf("remove %s: %w", item.Path, err)
		}
	}
	return []Item{item}, nil
}

// rel is path relative to the state directory, as gc prints it.
func (p *plan) rel(path string) string {
	if r, err := filepath.Rel(p.c.StateDir, path); err == nil {
		return r
	}
	return path
}

// readDir lists dir; a folder that does not exist is empty.
func readDir(dir string) ([]fs.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

func modTime(e fs.DirEntry) time.Time {
	info, err := e.Info()
	if err != nil {
		return time.Time{} // gone meanwhile: nothing to keep
	}
	return info.ModTime()
}

// day prints a time as gc's reasons do.
func day(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }

// period prints a retention period in days when it is whole days.
func period(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func joinErrors(op string, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
