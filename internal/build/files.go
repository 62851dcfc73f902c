package build

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// copyTree copies the directory src into dst (created if missing), keeping
// relative paths, file modes and symbolic links. With keepExisting, files that
// already exist in dst are left alone.
func copyTree(src, dst string, keepExisting bool) (int, error) {
	files := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		if keepExisting {
			if _, err := os.Lstat(target); err == nil {
				return nil
			}
		}
		copied, err := copyEntry(p, target, d, false)
		if copied {
			files++
		}
		return err
	})
	return files, err
}

// copyEntry copies one file or symlink. followLinks copies what a link points to
// instead of the link (a dangling link is then skipped). Other file types
// (sockets, devices) are skipped.
func copyEntry(src, dst string, d fs.DirEntry, followLinks bool) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, err
	}
	mode := d.Type()
	if mode&fs.ModeSymlink != 0 && !followLinks {
		link, err := os.Readlink(src)
		if err != nil {
			return false, err
		}
		_ = os.Remove(dst)
		return true, os.Symlink(link, dst)
	}
	info, err := os.Stat(src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && mode&fs.ModeSymlink != 0 {
			return false, nil
		}
		return false, err
	}
	if !info.Mode().IsRegular() {
		return false, nil
	}
	return true, copyFile(src, dst, info.Mode().Perm())
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_ = os.Remove(dst) // a read-only file left by an earlier copy
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// OpenFile's mode went through the umask; executables must stay executable.
	return os.Chmod(dst, perm)
}

// globFiles expands buildspec path patterns relative to base into the files they
// name, as slash paths relative to base, in pattern order without duplicates. A
// pattern naming a directory stands for everything under it. Patterns matching
// nothing are returned in unmatched.
func globFiles(base string, patterns []string) (files, unmatched []string, err error) {
	fsys := os.DirFS(base)
	seen := map[string]bool{}
	walked := map[string]bool{} // directories already added whole
	add := func(rel string) {
		if !seen[rel] {
			seen[rel] = true
			files = append(files, rel)
		}
	}
	for _, pattern := range patterns {
		clean, err := cleanPattern(pattern)
		if err != nil {
			return nil, nil, err
		}
		matches, err := doublestar.Glob(fsys, clean)
		if err != nil {
			return nil, nil, fmt.Errorf("path pattern %q: %w", pattern, err)
		}
		before := len(files)
		for _, m := range matches {
			if err := addMatch(base, m, walked, add); err != nil {
				return nil, nil, err
			}
		}
		if len(files) == before {
			unmatched = append(unmatched, pattern)
		}
	}
	return files, unmatched, nil
}

func addMatch(base, match string, walked map[string]bool, add func(string)) error {
	info, err := os.Lstat(filepath.Join(base, filepath.FromSlash(match)))
	if err != nil {
		return err
	}
	if !info.IsDir() {
		add(match)
		return nil
	}
	// "**/*" matches a directory and everything in it: walk each tree once.
	for d := match; d != "." && d != "/"; d = path.Dir(d) {
		if walked[d] {
			return nil
		}
	}
	walked[match] = true
	return filepath.WalkDir(filepath.Join(base, filepath.FromSlash(match)), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		add(filepath.ToSlash(rel))
		return nil
	})
}

// cleanPattern makes a buildspec path pattern one doublestar reads against the
// base directory: "./x" is "x", "." is everything.
func cleanPattern(pattern string) (string, error) {
	p := strings.TrimSpace(pattern)
	if p == "" {
		return "", fmt.Errorf("empty path pattern")
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path pattern %q: must be relative to the base directory", pattern)
	}
	p = path.Clean(p)
	if p == "." {
		return "**/*", nil
	}
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("path pattern %q: must not leave the base directory", pattern)
	}
	if !doublestar.ValidatePattern(p) {
		return "", fmt.Errorf("path pattern %q: bad glob", pattern)
	}
	return p, nil
}

// excluded reports whether rel or one of its parent directories matches one of
// the exclude patterns.
func excluded(rel string, patterns []string) bool {
	for _, pattern := range patterns {
		clean, err := cleanPattern(pattern)
		if err != nil {
			continue
		}
		for p := rel; p != "." && p != "/"; p = path.Dir(p) {
			if ok, _ := doublestar.Match(clean, p); ok {
				return true
			}
		}
	}
	return false
}

// insideDir joins a relative directory to root and refuses one that leaves it.
func insideDir(root, rel string) (string, error) {
	if rel == "" {
		return root, nil
	}
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("%q must be relative to the source directory", rel)
	}
	p := filepath.Join(root, rel)
	if r, err := filepath.Rel(root, p); err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return "", fmt.Errorf("%q leaves the source directory", rel)
	}
	return p, nil
}
