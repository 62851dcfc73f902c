package build_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// cacheBuilds runs builds of one project sharing a cache folder.
type cacheBuilds struct {
	t         *testing.T
	cacheType string
	cache     string
	tools     string // an absolute cache path: a tool's folder on this machine
}

func newCacheBuilds(t *testing.T) *cacheBuilds {
	return &cacheBuilds{t: t, cacheType: manifest.CacheS3, cache: t.TempDir(), tools: filepath.Join(t.TempDir(), "tool-cache")}
}

// run runs one build of spec; the source holds files.
func (c *cacheBuilds) run(spec *manifest.Buildspec, files map[string]string, want build.Status) string {
	c.t.Helper()
	f := newFixture(c.t, spec)
	f.req.CacheDir, f.req.CacheType = c.cache, c.cacheType
	f.req.Env = []string{"TOOL_CACHE=" + c.tools}
	for name, body := range files {
		f.writeSource(c.t, name, body, 0o644)
	}
	res := f.run(c.t)
	wantStatus(c.t, res, want, f.log)
	return f.log.String()
}

func wantLog(t *testing.T, log string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(log) {
			t.Errorf("log lacks %q:\n%s", p, log)
		}
	}
}

func cacheSpec(cache *manifest.BuildCache, commands ...string) *manifest.Buildspec {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Cache: cache}
	spec.Phases.Install = phase("install", w.cmds(commands...))
	return spec
}

// fill writes deps/lib.txt (relative) and $TOOL_CACHE/pkg/mod.txt (absolute)
// unless the cache brought them, and says which.
const fill = `for f in deps/lib.txt "$TOOL_CACHE/pkg/mod.txt"; do if [ -f "$f" ]; then echo "found $(basename $f): $(cat $f)"; else mkdir -p $(dirname "$f") && echo "$VERSION" > "$f"; fi; done`

func TestCacheIsSavedAfterASuccessfulBuildAndRestoredBeforeTheNext(t *testing.T) {
	c := newCacheBuilds(t)
	paths := []string{"deps/**/*", filepath.Join(c.tools, "**", "*")}
	spec := cacheSpec(&manifest.BuildCache{Paths: paths}, "VERSION=v1", fill, "cat deps/source-owned.txt")
	log := c.run(spec, map[string]string{"deps/source-owned.txt": "source 1\n"}, build.StatusSucceeded)
	wantLog(t, log, `Cache miss: the project's cache`, `Cache saved: the project's cache: 3 files, \d+ bytes`)
	os.RemoveAll(c.tools) // the machine lost its tool cache: the build cache brings it back
	log = c.run(spec, map[string]string{"deps/source-owned.txt": "source 2\n"}, build.StatusSucceeded)
	wantLog(t, log, `Cache hit: the project's cache \(exact\): restored 2 files, \d+ bytes`,
		`\nfound lib.txt: v1\n`, `\nfound mod.txt: v1\n`, `\nsource 2\n`) // the source's files win over cached ones

	// A failed build saves nothing: the next one still finds v1.
	failing := cacheSpec(&manifest.BuildCache{Paths: paths}, "echo v2 > deps/lib.txt", "false")
	wantLog(t, c.run(failing, nil, build.StatusFailed), `Cache not saved: the build failed`)
	wantLog(t, c.run(spec, nil, build.StatusSucceeded), `\nfound lib.txt: v1\n`)

	// Other paths are another cache version: a miss.
	other := cacheSpec(&manifest.BuildCache{Paths: []string{"deps/**/*"}}, "VERSION=v3", fill)
	wantLog(t, c.run(other, nil, build.StatusSucceeded), `Cache miss`)
}

func TestCacheKeysAndFallbackKeys(t *testing.T) {
	c := newCacheBuilds(t)
	keyed := func(version string, key string, fallbacks ...string) *manifest.Buildspec {
		return cacheSpec(&manifest.BuildCache{Key: key, FallbackKeys: fallbacks, Paths: []string{"deps/**/*"}}, "VERSION="+version, fill)
	}
	lock := map[string]string{"package-lock.json": `{"lockfileVersion": 1}`}
	log := c.run(keyed("v1", "npm-$(codebuild-hash-files package-lock.json)", "npm-"), lock, build.StatusSucceeded)
	wantLog(t, log, `Cache miss: key "npm-[0-9a-f]{64}", fallback keys \["npm-"\]`, `Cache saved: key "npm-[0-9a-f]{64}"`)

	// Same lock file: the exact key hits, and a keyed cache is never updated.
	log = c.run(keyed("v2", "npm-$(codebuild-hash-files package-lock.json)", "npm-"), lock, build.StatusSucceeded)
	wantLog(t, log, `Cache hit: key "npm-[0-9a-f]{64}".* \(exact\): restored 1 files`, `found lib.txt: v1`, `Cache not saved: key "npm-[0-9a-f]{64}" has a cache already`)

	// A new lock file: no cache under its key; the fallback prefix finds the
	// newest npm- cache, and the build saves under its own key.
	changed := map[string]string{"package-lock.json": `{"lockfileVersion": 2}`}
	log = c.run(keyed("v3", "npm-$(codebuild-hash-files package-lock.json)", "yarn-", "npm-"), changed, build.StatusSucceeded)
	wantLog(t, log, `\(fallback key "npm-" matched key "npm-[0-9a-f]{64}"\)`, `found lib.txt: v1`, `Cache saved: key`)

	// Keys expand variables; a key with no cache and no fallback misses.
	log = c.run(keyed("v4", "branch-$CODEBUILD_RESOLVED_SOURCE_VERSION"), nil, build.StatusSucceeded)
	wantLog(t, log, `Cache miss: key "branch-0123456789abcdef0123456789abcdef01234567"`)
	entries, _ := os.ReadDir(c.cache)
	if len(entries) != 3 {
		t.Errorf("cache folder holds %d entries, want one per key saved (3)", len(entries))
	}
}

func TestCacheActionRestoreOrSaveOnly(t *testing.T) {
	c := newCacheBuilds(t)
	with := func(action, version string) *manifest.Buildspec {
		return cacheSpec(&manifest.BuildCache{Action: action, Paths: []string{"deps/**/*"}}, "VERSION="+version, fill)
	}
	wantLog(t, c.run(with(manifest.CacheRestore, "v1"), nil, build.StatusSucceeded), `Cache miss`)
	if entries, _ := os.ReadDir(c.cache); len(entries) != 0 {
		t.Fatalf("action restore saved a cache: %v", entries)
	}
	log := c.run(with(manifest.CacheSave, "v2"), nil, build.StatusSucceeded)
	if strings.Contains(log, "Cache miss") || strings.Contains(log, "Cache hit") {
		t.Errorf("action save restored:\n%s", log)
	}
	wantLog(t, log, `Cache saved`)
	wantLog(t, c.run(with(manifest.CacheRestore, "v3"), nil, build.StatusSucceeded), `Cache hit`, `found lib.txt: v2`)
}

// A LOCAL cache (the default) leaves absolute paths where they are: this
// machine's folders outlive builds. NO_CACHE ignores the cache section.
func TestCacheTypes(t *testing.T) {
	c := newCacheBuilds(t)
	c.cacheType = manifest.CacheLocal
	spec := cacheSpec(&manifest.BuildCache{Paths: []string{"deps/**/*", filepath.Join(c.tools, "**", "*")}}, "VERSION=v1", fill)
	log := c.run(spec, nil, build.StatusSucceeded)
	wantLog(t, log, `Cache path .*tool-cache/\*\*/\*: this machine's folder, kept between builds where it is`, `Cache saved: the project's cache: 1 files`)
	log = c.run(spec, nil, build.StatusSucceeded)
	wantLog(t, log, `restored 1 files`, `found lib.txt: v1`, `found mod.txt: v1`)

	c.cacheType = manifest.CacheNone
	log = c.run(spec, nil, build.StatusSucceeded)
	wantLog(t, log, `Cache not used: the build project's cache type is NO_CACHE`)
	if strings.Contains(log, "found lib.txt") {
		t.Errorf("NO_CACHE restored the cache:\n%s", log)
	}
}
