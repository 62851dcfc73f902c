package source

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLogListsTheCommitsProductionDoesNotHave(t *testing.T) {
	dir := t.TempDir()
	r := newRepo(t, filepath.Join(dir, "repo"))
	r.write("svc/a.txt", "1", 0o644)
	first := r.commit("first")
	r.write("docs/readme.md", "2", 0o644)
	docs := r.commit("docs only")
	r.write("svc/a.txt", "3", 0o644)
	third := r.commit("fix <b>bold</b> bug\n\nbody line")
	g := New()
	ctx := context.Background()

	got, err := g.Log(ctx, History{Repository: r.dir, From: first, To: third})
	if err != nil {
		t.Fatal(err)
	}
	if ids := commitIDs(got); !slices.Equal(ids, []string{third, docs}) {
		t.Fatalf("first..third = %v, want [third docs]", ids)
	}
	if got[0].Subject != "fix <b>bold</b> bug" || got[0].Author != "Ada Lovelace" || got[0].Time.IsZero() {
		t.Fatalf("newest commit %+v", got[0])
	}
	sub, err := g.Log(ctx, History{Repository: r.dir, Subdirectory: "svc", From: first, To: third})
	if err != nil || !slices.Equal(commitIDs(sub), []string{third}) {
		t.Fatalf("first..third in svc/ = %v, %v", commitIDs(sub), err)
	}
	all, err := g.Log(ctx, History{Repository: r.dir, To: third, Limit: 2})
	if err != nil || !slices.Equal(commitIDs(all), []string{third, docs}) {
		t.Fatalf("history of third, 2 at most = %v, %v", commitIDs(all), err)
	}
	none, err := g.Log(ctx, History{Repository: r.dir, From: third, To: third})
	if err != nil || len(none) != 0 {
		t.Fatalf("third..third = %v, %v", none, err)
	}
}

func TestLogRefusesWhatIsNoCommitID(t *testing.T) {
	r := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	r.write("a", "1", 0o644)
	head := r.commit("one")
	for _, h := range []History{
		{Repository: r.dir, To: "HEAD"},
		{Repository: r.dir, From: "--output=/tmp/x", To: head},
		{Repository: r.dir, From: strings.Repeat("0", 40), To: head}, // a well-formed id the repository lacks
	} {
		if _, err := New().Log(context.Background(), h); err == nil {
			t.Errorf("Log(%+v) succeeded", h)
		}
	}
}

func commitIDs(cs []Commit) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func FuzzParseLog(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef01234567\x00Ada\x002024-05-01T10:00:00+02:00\x00subject\x00\n"))
	f.Add([]byte(""))
	f.Add([]byte("x\x00y\x00z\x00w\x00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := parseLog(b)
		if err != nil {
			return
		}
		for _, c := range cs {
			if !isHex(c.ID) || c.Time.IsZero() && !strings.Contains(string(b), "0001-01-01") {
				t.Fatalf("parsed %+v from %q", c, b)
			}
		}
	})
}
