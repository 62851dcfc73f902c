package build

import (
	"os"
	"path/filepath"
	"testing"
)

// A save that cannot finish (a file vanished between matching and copying, as
// when a background process cleans up) leaves the saved cache whole and no
// temporary folder behind.
func TestCacheSaveIsAtomic(t *testing.T) {
	work, dir := t.TempDir(), t.TempDir()
	c := &buildCache{dir: dir, version: cacheVersion([]string{"deps/**/*"})}
	write := func(name, body string) { // a new file in place of the old, as tools write caches
		if err := os.MkdirAll(filepath.Join(work, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(work, name+".tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("deps/a.txt", "v1")
	files, err := cachedFiles([]string{"deps/**/*"}, work)
	if err != nil {
		t.Fatal(err)
	}
	if _, placed, err := c.save(files); err != nil || !placed {
		t.Fatalf("first save: %v %v", placed, err)
	}
	write("deps/a.txt", "v2")
	write("deps/b.txt", "v2")
	files, _ = cachedFiles([]string{"deps/**/*"}, work)
	os.Remove(filepath.Join(work, "deps/b.txt"))
	if _, _, err := c.save(files); err == nil {
		t.Fatal("a save missing a file succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != cacheDefault {
		t.Fatalf("cache folder holds %v, want the first save only", entries)
	}
	got, err := os.ReadFile(filepath.Join(dir, cacheDefault, cacheFiles, cacheSrc, "deps", "a.txt"))
	if err != nil || string(got) != "v1" {
		t.Fatalf("saved cache holds %q, %v; want the first save's v1", got, err)
	}
}

// Saved files are hard links: one its tool rewrites in place after the save is
// not restored (its stamp no longer matches), the others are.
func TestCacheSkipsFilesRewrittenInPlace(t *testing.T) {
	work, dir := t.TempDir(), t.TempDir()
	c := &buildCache{dir: dir, version: cacheVersion([]string{"*.txt"})}
	for _, name := range []string{"kept.txt", "rewritten.txt"} {
		if err := os.WriteFile(filepath.Join(work, name), []byte("saved"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := cachedFiles([]string{"*.txt"}, work)
	if _, placed, err := c.save(files); err != nil || !placed {
		t.Fatalf("save: %v %v", placed, err)
	}
	if err := os.WriteFile(filepath.Join(work, "rewritten.txt"), []byte("half-writ"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	restored, stale, _, err := c.restore(filepath.Join(dir, cacheDefault), fresh)
	if err != nil || restored != 1 || stale != 1 {
		t.Fatalf("restore: %d restored, %d stale, %v; want 1 and 1", restored, stale, err)
	}
	if got, _ := os.ReadFile(filepath.Join(fresh, "kept.txt")); string(got) != "saved" {
		t.Errorf("kept.txt restored as %q", got)
	}
	if _, err := os.Stat(filepath.Join(fresh, "rewritten.txt")); err == nil {
		t.Error("a file rewritten in place after the save was restored")
	}
}

func TestSplitGlob(t *testing.T) {
	for in, want := range map[string][2]string{
		"/root/.m2/**/*":          {"/root/.m2", "**/*"},
		"/var/cache/app/data.bin": {"/var/cache/app", "data.bin"},
		"/*.txt":                  {"/", "*.txt"},
	} {
		if base, pattern := splitGlob(in); base != want[0] || pattern != want[1] {
			t.Errorf("splitGlob(%q) = %q, %q; want %q, %q", in, base, pattern, want[0], want[1])
		}
	}
}
