package build

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The build cache of a project: cache.paths under the work directory are saved
// to CacheDir/files after a build and restored before the next one (files from
// the source win over cached ones). Absolute paths ('/root/.cache/**/*') name
// places on this machine, which outlive builds anyway: they are left in place.
// cache.key is not used: there is one cache per project.

const cacheFiles = "files"

func (b *builder) restoreCache() error {
	if b.req.CacheDir == "" || b.req.Buildspec.Cache == nil {
		return nil
	}
	dir := filepath.Join(b.req.CacheDir, cacheFiles)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		b.logf("No cache to restore yet")
		return nil
	}
	n, err := copyTree(dir, b.workDir, true)
	if err != nil {
		return fmt.Errorf("restore cache: %w", err)
	}
	b.logf("Restored %d cached files", n)
	return nil
}

// saveCache replaces the saved cache with the current files, atomically: the
// new copy is complete before it takes the old one's place.
func (b *builder) saveCache() error {
	if b.req.CacheDir == "" || b.req.Buildspec.Cache == nil {
		return nil
	}
	var relative []string
	for _, p := range b.req.Buildspec.Cache.Paths {
		if strings.HasPrefix(p, "/") {
			b.logf("Cache path %s is on this machine and kept between builds as it is", p)
			continue
		}
		relative = append(relative, p)
	}
	if len(relative) == 0 {
		return nil
	}
	files, _, err := globFiles(b.workDir, relative)
	if err != nil {
		b.logf("Cache not saved: %v", err)
		return nil
	}
	if err := os.MkdirAll(b.req.CacheDir, 0o755); err != nil {
		return fmt.Errorf("save cache: %w", err)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return fmt.Errorf("save cache: %w", err)
	}
	tmp := filepath.Join(b.req.CacheDir, cacheFiles+".new-"+hex.EncodeToString(suffix))
	old := filepath.Join(b.req.CacheDir, cacheFiles+".old-"+hex.EncodeToString(suffix))
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("save cache: %w", err)
	}
	for _, rel := range files {
		src := filepath.Join(b.workDir, filepath.FromSlash(rel))
		info, err := os.Lstat(src)
		if err != nil {
			return fmt.Errorf("save cache: %w", err)
		}
		if _, err := copyEntry(src, filepath.Join(tmp, filepath.FromSlash(rel)), dirEntry{info}, false); err != nil {
			return fmt.Errorf("save cache: %w", err)
		}
	}
	current := filepath.Join(b.req.CacheDir, cacheFiles)
	if err := os.Rename(current, old); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("save cache: %w", err)
	}
	if err := os.Rename(tmp, current); err != nil {
		return fmt.Errorf("save cache: %w", err)
	}
	b.logf("Saved %d files to the cache", len(files))
	return os.RemoveAll(old)
}
