package build

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// The build cache of a project, as CodeBuild's: cache.paths (relative to the
// source directory, or absolute) are restored before the install phase and
// saved after a successful build. CacheDir holds one entry per cache:
//
//	default/             the cache without a key, replaced after every successful build
//	key-<sha256 of key>/ the cache saved under a key, never updated once saved
//	.tmp-*, .old-*       saves under way (or that died: `greenlight gc` removes them)
//
// An entry is meta.json and files/src/<path> (relative paths), files/abs/<path>
// (absolute ones). A save is complete before its rename makes it an entry, so a
// build never restores half a cache. An entry's modification time is when a
// build last used it. Paths are the cache's version: an entry saved with other
// paths does not match, as in CodeBuild.

const (
	cacheMeta    = "meta.json"
	cacheFiles   = "files"
	cacheDefault = "default"
	cacheSrc     = "src" // under files/: paths relative to the source directory
	cacheAbs     = "abs" // under files/: absolute paths
)

// cacheInfo is an entry's meta.json.
type cacheInfo struct {
	Key     string    `json:"key,omitempty"`
	Version string    `json:"version"` // hash of the paths
	Saved   time.Time `json:"saved"`
	Files   int       `json:"files"`
	Bytes   int64     `json:"bytes"`
	// Stamps are the size and modification time of each file under files/ when
	// it was saved. Saved files are hard links where they can be (a large tool
	// cache costs no copy), so a file its tool rewrote in place since is seen
	// here, and not restored.
	Stamps map[string]stamp `json:"stamps"`
}

type stamp struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

func stampOf(info fs.FileInfo) stamp { return stamp{Size: info.Size(), ModTime: info.ModTime()} }

func (s stamp) same(o stamp) bool { return s.Size == o.Size && s.ModTime.Equal(o.ModTime) }

// IsCacheLeftover reports whether a name in a cache folder is a save under way,
// or one that died.
func IsCacheLeftover(name string) bool {
	return strings.HasPrefix(name, ".tmp-") || strings.HasPrefix(name, ".old-")
}

// buildCache is the cache of one build: its keys evaluated, and what it restored.
type buildCache struct {
	spec      *manifest.BuildCache
	paths     []string // the spec's, less what stays in place
	dir       string
	key       string // evaluated
	fallbacks []string
	version   string
	exactHit  bool
}

func cacheVersion(paths []string) string {
	sorted := slices.Sorted(slices.Values(paths))
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return hex.EncodeToString(sum[:8])
}

func keyEntry(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key-" + hex.EncodeToString(sum[:16])
}

// entry is the entry a save writes.
func (c *buildCache) entry() string {
	if c.key == "" {
		return cacheDefault
	}
	return keyEntry(c.key)
}

func readCacheInfo(entry string) (cacheInfo, error) {
	var info cacheInfo
	data, err := os.ReadFile(filepath.Join(entry, cacheMeta))
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(data, &info)
}

// find returns the entry to restore and how it matched ("" when none does):
// the exact key (or the default entry), else the newest entry whose key starts
// with the first fallback key that matches any.
func (c *buildCache) find() (entry, how string) {
	exact := filepath.Join(c.dir, c.entry())
	if info, err := readCacheInfo(exact); err == nil && info.Version == c.version {
		c.exactHit = true
		return exact, "exact"
	}
	if c.key == "" {
		return "", ""
	}
	entries, _ := os.ReadDir(c.dir)
	for _, prefix := range c.fallbacks {
		var best string
		var bestInfo cacheInfo
		for _, e := range entries {
			path := filepath.Join(c.dir, e.Name())
			info, err := readCacheInfo(path)
			if err == nil && info.Version == c.version && strings.HasPrefix(info.Key, prefix) && info.Saved.After(bestInfo.Saved) {
				best, bestInfo = path, info
			}
		}
		if best != "" {
			return best, fmt.Sprintf("fallback key %q matched key %q", prefix, bestInfo.Key)
		}
	}
	return "", ""
}

// restore copies an entry's files into place; files already there win (the
// source's, or a newer toolchain cache on this machine). A saved file that
// changed since its save is skipped.
func (c *buildCache) restore(entry, workDir string) (files, stale int, bytes int64, err error) {
	info, err := readCacheInfo(entry)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, rel := range slices.Sorted(maps.Keys(info.Stamps)) {
		target, ok := restoreTarget(rel, workDir)
		if !ok {
			continue
		}
		if _, err := os.Lstat(target); err == nil {
			continue
		}
		src := filepath.Join(entry, cacheFiles, rel)
		saved, err := os.Lstat(src)
		if err != nil || saved.Mode().IsRegular() && !stampOf(saved).same(info.Stamps[rel]) {
			stale++
			continue
		}
		if err := copyKeepingTime(src, target, saved); err != nil {
			return files, stale, bytes, err
		}
		files, bytes = files+1, bytes+saved.Size()
	}
	now := time.Now()
	return files, stale, bytes, os.Chtimes(entry, now, now) // last used
}

// restoreTarget is where a file saved as rel (under files/) goes.
func restoreTarget(rel, workDir string) (string, bool) {
	if r, ok := strings.CutPrefix(rel, cacheSrc+string(filepath.Separator)); ok {
		return filepath.Join(workDir, r), true
	}
	if r, ok := strings.CutPrefix(rel, cacheAbs+string(filepath.Separator)); ok {
		return string(filepath.Separator) + r, true
	}
	return "", false
}

func copyKeepingTime(src, dst string, info fs.FileInfo) error {
	if _, err := copyEntry(src, dst, fs.FileInfoToDirEntry(info), false); err != nil || !info.Mode().IsRegular() {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

// cachedFiles lists what the paths match now: relative paths under workDir,
// absolute ones on this machine; each as (source file, place under files/).
func cachedFiles(paths []string, workDir string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range paths {
		base, pattern, place := workDir, p, cacheSrc
		if filepath.IsAbs(p) {
			base, pattern = splitGlob(p)
			place = filepath.Join(cacheAbs, base)
		}
		files, _, err := globFiles(base, []string{pattern})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cache path %s: %w", p, err)
		}
		for _, rel := range files {
			out[filepath.Join(base, filepath.FromSlash(rel))] = filepath.Join(place, filepath.FromSlash(rel))
		}
	}
	return out, nil
}

// splitGlob splits an absolute pattern into the folder before its first
// wildcard and the rest: "/root/.m2/**/*" is "/root/.m2" and "**/*".
func splitGlob(p string) (base, pattern string) {
	parts := strings.Split(filepath.Clean(p), string(filepath.Separator))
	i := slices.IndexFunc(parts, func(s string) bool { return strings.ContainsAny(s, "*?[{") })
	if i < 0 {
		return filepath.Dir(p), filepath.Base(p)
	}
	return "/" + filepath.Join(parts[:i]...), strings.Join(parts[i:], "/")
}

// save writes the files into a new entry and puts it in place atomically.
// A keyed entry is never replaced; the default one is.
func (c *buildCache) save(files map[string]string) (cacheInfo, bool, error) {
	info := cacheInfo{Key: c.key, Version: c.version, Saved: time.Now(), Stamps: map[string]stamp{}}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return info, false, err
	}
	tmp := filepath.Join(c.dir, ".tmp-"+strings.ToLower(rand.Text()[:12]))
	defer func() { _ = RemoveTree(tmp) }() // gone once renamed into place; else a failed save
	for _, src := range slices.Sorted(maps.Keys(files)) {
		saved, err := saveFile(src, filepath.Join(tmp, cacheFiles, files[src]))
		if err != nil {
			return info, false, err
		}
		if saved != nil {
			info.Files++
			info.Stamps[files[src]] = stampOf(saved)
		}
	}
	for _, st := range info.Stamps {
		info.Bytes += st.Size
	}
	if err := c.seal(tmp, info); err != nil {
		return info, false, err
	}
	placed, err := c.place(tmp)
	return info, placed, err
}

// saveFile puts one file into a save: a hard link where the file system allows
// (saving a large tool cache costs no copy), else a copy. It returns what was
// saved, nil for what is not a file nor a link.
func saveFile(src, dst string) (fs.FileInfo, error) {
	info, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	if info.Mode().IsRegular() {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if os.Link(src, dst) == nil {
			return info, nil
		}
	}
	if info.Mode()&fs.ModeSymlink == 0 && !info.Mode().IsRegular() {
		return nil, nil
	}
	return info, copyKeepingTime(src, dst, info)
}

// seal writes meta.json and flushes the entry to disk before it is renamed into
// place: after a crash an entry is whole or absent.
func (c *buildCache) seal(tmp string, info cacheInfo) error {
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	meta, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(tmp, cacheMeta), meta, 0o644); err != nil {
		return err
	}
	return syncFilesystem(tmp)
}

// place renames a complete save into its entry. It reports false when a keyed
// entry is there already (another build saved it first).
func (c *buildCache) place(tmp string) (bool, error) {
	target := filepath.Join(c.dir, c.entry())
	if c.key != "" {
		err := os.Rename(tmp, target)
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return false, nil
		}
		return err == nil, err
	}
	old := filepath.Join(c.dir, ".old-"+strings.ToLower(rand.Text()[:12]))
	if err := os.Rename(target, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.Rename(tmp, target); err != nil {
		return false, err
	}
	return true, RemoveTree(old)
}

// syncFilesystem flushes the file system holding dir (syncfs(2)): one call
// for every file and folder of a save, however many.
func syncFilesystem(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	return nil
}

// DiskUsage is the size of the regular files under path (of path, a file).
func DiskUsage(path string) int64 {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// HumanSize prints a byte count as the logs and gc do.
func HumanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
