package source

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// prRepo is a repository where a pull request from feature into main renames
// one file, changes one in a subdirectory and adds one, while main moved on
// meanwhile (its change is not the pull request's). fork is a head that no
// branch holds, published only as GitHub's refs/pull/7/head.
type prRepo struct {
	*gitRepo
	base, head, fork string
}

func newPRRepo(t *testing.T) prRepo {
	r := newRepo(t, filepath.Join(t.TempDir(), "orders-service"))
	r.write("README.md", "orders\n", 0o644)
	r.write("cmd/main.go", "package main\n", 0o644)
	r.write("old.txt", "old\n", 0o644)
	r.commit("first")
	r.git("checkout", "--quiet", "-b", "feature")
	r.write("cmd/main.go", "package main // changed\n", 0o644)
	r.write("docs/new.md", "new\n", 0o644)
	r.git("mv", "old.txt", "renamed.txt")
	head := r.commit("the pull request")
	r.git("checkout", "--quiet", "main")
	r.write("README.md", "orders, on main meanwhile\n", 0o644)
	base := r.commit("main moves on")
	r.git("checkout", "--quiet", "--detach", head)
	r.write("fork.go", "package fork\n", 0o644)
	fork := r.commit("from a fork")
	r.git("update-ref", "refs/pull/7/head", fork)
	r.git("checkout", "--quiet", "main")
	return prRepo{r, base, head, fork}
}

func TestChangedFilesOfAPullRequest(t *testing.T) {
	r := newPRRepo(t)
	want := []string{"cmd/main.go", "docs/new.md", "old.txt", "renamed.txt"}
	state := t.TempDir()
	for _, c := range []struct {
		name string
		ch   Changes
		want []string
	}{
		{"local path", Changes{Repository: "orders-service", DefinitionDir: filepath.Dir(r.dir), Base: r.base, Head: r.head}, want},
		{"URL mirrored", Changes{Repository: "file://" + r.dir, StateDir: state, Base: r.base, Head: r.head}, want},
		{"fork head fetched (by id, or its pull ref)", Changes{Repository: "file://" + r.dir, StateDir: t.TempDir(), Base: r.base, Head: r.fork, PullNumber: 7},
			append(slices.Clone(want), "fork.go")},
	} {
		got, err := New().ChangedFiles(context.Background(), c.ch)
		slices.Sort(got)
		slices.Sort(c.want)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// What cannot be read says why: a commit the repository lacks, a directory
// that is no repository, an event without commits.
func TestChangedFilesExplainsWhatItCannotRead(t *testing.T) {
	r := newPRRepo(t)
	missing := strings.Repeat("ab", 20)
	notRepo := t.TempDir()
	if err := os.WriteFile(filepath.Join(notRepo, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ch   Changes
		says string
	}{
		{"head not in the local repository (never fetched into)", Changes{Repository: r.dir, Base: r.base, Head: missing}, "commit " + missing + " is not in " + r.dir},
		{"fork head without its pull number", Changes{Repository: "file://" + r.dir, StateDir: t.TempDir(), Base: r.base, Head: missing}, "is not in file://"},
		{"not a repository", Changes{Repository: notRepo, Base: r.base, Head: r.head}, "not a git repository"},
		{"no commits", Changes{Repository: r.dir}, "no base or head commit"},
	} {
		got, err := New().ChangedFiles(context.Background(), c.ch)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %q, %v; want an error saying %q", c.name, got, err, c.says)
		}
	}
}
