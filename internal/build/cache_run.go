package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// openCache evaluates the cache keys in the build's shell, as CodeBuild does
// (they may hold $VARIABLES, $(commands) and $(codebuild-hash-files globs)),
// and restores the cache unless cache.action is save. Cache problems are
// logged; they never fail a build.
func (b *builder) openCache(ctx context.Context) {
	spec := b.req.Buildspec.Cache
	switch {
	case b.req.CacheDir == "" || spec == nil:
		return
	case b.req.CacheType == manifest.CacheNone:
		b.logf("Cache not used: the build project's cache type is %s", manifest.CacheNone)
		return
	}
	paths := b.cachePaths(spec.Paths)
	if len(paths) == 0 {
		return
	}
	c := &buildCache{spec: spec, paths: paths, dir: b.req.CacheDir, version: cacheVersion(paths)}
	var err error
	if spec.Key != "" {
		if c.key, err = b.evalKey(ctx, spec.Key); err == nil {
			for _, k := range spec.FallbackKeys {
				f, ferr := b.evalKey(ctx, k)
				c.fallbacks, err = append(c.fallbacks, f), ferr
			}
		}
	} else if len(spec.FallbackKeys) > 0 {
		b.logf("Cache fallback-keys are ignored without a key")
	}
	if err != nil {
		b.logf("Cache not used: evaluate its key: %v", err)
		return
	}
	b.cache = c
	if spec.Action != manifest.CacheSave {
		b.restoreCache(c)
	}
}

// cachePaths are the paths this build saves and restores: with a LOCAL cache,
// absolute paths are this machine's folders, which outlive builds: they stay
// where they are, as on a CodeBuild host with a local cache.
func (b *builder) cachePaths(paths []string) []string {
	if b.req.CacheType == manifest.CacheS3 {
		return paths
	}
	var out []string
	for _, p := range paths {
		if filepath.IsAbs(p) {
			b.logf("Cache path %s: this machine's folder, kept between builds where it is (cache type LOCAL; type S3 saves and restores it)", p)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (b *builder) restoreCache(c *buildCache) {
	entry, how := c.find()
	if entry == "" {
		b.logf("Cache miss: %s", c.describe())
		return
	}
	files, stale, bytes, err := c.restore(entry, b.workDir)
	if err != nil {
		b.logf("Cache hit (%s) but not restored: %v", how, err)
		return
	}
	b.logf("Cache hit: %s (%s): restored %d files, %s", c.describe(), how, files, HumanSize(bytes))
	if stale > 0 {
		b.logf("Cache: %d saved files changed since the save (rewritten in place by their tool) were not restored", stale)
	}
}

func (c *buildCache) describe() string {
	if c.key == "" {
		return "the project's cache"
	}
	if len(c.fallbacks) == 0 {
		return fmt.Sprintf("key %q", c.key)
	}
	return fmt.Sprintf("key %q, fallback keys %q", c.key, c.fallbacks)
}

// saveCache saves the cache after a successful build, unless cache.action is
// restore or the build restored its key exactly (a keyed cache is never
// updated).
func (b *builder) saveCache() {
	c := b.cache
	switch {
	case c == nil || c.spec.Action == manifest.CacheRestore:
		return
	case b.failure != "":
		b.logf("Cache not saved: the build failed")
		return
	case c.key != "" && c.exactHit:
		b.logf("Cache not saved: key %q has a cache already, which is never updated", c.key)
		return
	}
	files, err := cachedFiles(c.paths, b.workDir)
	if err == nil && len(files) == 0 {
		b.logf("Cache not saved: no file matches %s", strings.Join(c.paths, ", "))
		return
	}
	var info cacheInfo
	placed := false
	if err == nil {
		info, placed, err = c.save(files)
	}
	switch {
	case err != nil:
		b.logf("Cache not saved: %v", err)
	case !placed:
		b.logf("Cache not saved: another build saved key %q first", c.key)
	default:
		b.logf("Cache saved: %s: %d files, %s", c.describe(), info.Files, HumanSize(info.Bytes))
	}
}

var hashFilesCall = regexp.MustCompile(`\$\(codebuild-hash-files((?:\s+[^\s)]+)+)\s*\)`)

// evalKey evaluates a cache key in the build's shell after replacing each
// $(codebuild-hash-files glob...) with the hash of the files it matches.
func (b *builder) evalKey(ctx context.Context, key string) (string, error) {
	var hashErr error
	key = hashFilesCall.ReplaceAllStringFunc(key, func(call string) string {
		h, err := hashFiles(b.workDir, strings.Fields(hashFilesCall.FindStringSubmatch(call)[1]))
		if err != nil {
			hashErr = err
		}
		return h
	})
	if hashErr != nil {
		return "", hashErr
	}
	out := filepath.Join(b.scriptDir, "cache-key")
	const eof = "__GREENLIGHT_CACHE_KEY__"
	script := fmt.Sprintf("cat > %s <<%s\n%s\n%s\n", shellQuote(out), eof, key, eof)
	if code, err := b.exec(ctx, script); err != nil || code != 0 {
		return "", fmt.Errorf("key %q: shell status %d: %v", key, code, err)
	}
	value, err := os.ReadFile(out)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(value), "\n"), nil
}

// hashFiles is codebuild-hash-files: the SHA-256 of the files the globs match
// under dir (names and contents, in name order).
func hashFiles(dir string, globs []string) (string, error) {
	files, _, err := globFiles(dir, globs)
	if err != nil {
		return "", fmt.Errorf("codebuild-hash-files: %w", err)
	}
	h := sha256.New()
	for _, rel := range slices.Sorted(slices.Values(files)) {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return "", fmt.Errorf("codebuild-hash-files: %w", err)
		}
		fmt.Fprintf(h, "%s\x00", rel)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("codebuild-hash-files: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
