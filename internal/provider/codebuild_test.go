package provider

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneBuildsKeepsTheNewestOfTheProject(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	for i, name := range []string{"web-a", "web-b", "web-c", "web-d", "other-x"} {
		for _, suffix := range []string{"", "-artifacts"} {
			path := filepath.Join(dir, name+suffix)
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			at := base.Add(time.Duration(i) * time.Minute)
			if err := os.Chtimes(path, at, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := pruneBuilds(dir, "web", 2); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"other-x", "other-x-artifacts", "web-c", "web-c-artifacts", "web-d", "web-d-artifacts"}
	if len(left) != len(want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	for i := range want {
		if left[i] != want[i] {
			t.Fatalf("left %v, want %v", left, want)
		}
	}
}
