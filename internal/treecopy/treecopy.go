// Package treecopy copies a directory tree over another, for preparing a
// repository of the example service (the demo, the end-to-end tests, the
// benchmarks).
package treecopy

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
)

// BuildOutputs are the names a copy of a source tree leaves out: what builds and
// greenlight write into it.
var BuildOutputs = []string{".git", ".greenlight", "dist", ".cache", "reports"}

// Copy copies src over dst, keeping file modes, skipping files and directories
// with a name in skip, and leaving alone files whose content is already the same
// (so that a git repository sees only real changes).
func Copy(src, dst string, skip ...string) error {
	skipped := map[string]bool{}
	for _, name := range skip {
		skipped[name] = true
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && skipped[d.Name()] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if old, err := os.ReadFile(target); err == nil && bytes.Equal(old, data) {
			return nil
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}
