package source

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseCommit(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef01234567\x00Ada\x002024-05-01T10:00:00+02:00\x00subject\n\nbody\n"))
	f.Add([]byte("nothex\x00a\x00b\x00c"))
	f.Add([]byte("\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCommit(b)
		if err != nil {
			return
		}
		if !isHex(c.ID) || strings.Contains(c.Subject(), "\n") {
			t.Fatalf("parsed %+v", c)
		}
	})
}

// tarOf builds a tar stream from (name, type, body-or-linkname) triples.
func tarOf(entries ...[3]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Typeflag: e[1][0], Mode: 0o644}
		switch h.Typeflag {
		case tar.TypeReg:
			h.Size = int64(len(e[2]))
		case tar.TypeSymlink:
			h.Linkname = e[2]
		}
		_ = tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e[2]))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestExtractRefusesEscapes(t *testing.T) {
	for name, stream := range map[string][]byte{
		"dot-dot":          tarOf([3]string{"../evil", "0", "x"}),
		"absolute":         tarOf([3]string{"/tmp/evil", "0", "x"}),
		"through symlink":  tarOf([3]string{"out", "2", ".."}, [3]string{"out/evil", "0", "x"}),
		"symlink replaced": tarOf([3]string{"f", "2", "../evil"}, [3]string{"f", "0", "x"}),
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "artifact")
			_ = os.Mkdir(dir, 0o755)
			_, _ = extractTar(bytes.NewReader(stream), dir)
			if _, err := os.Lstat(filepath.Join(parent, "evil")); err == nil {
				t.Fatal("an entry landed outside the artifact directory")
			}
		})
	}
}

// Whatever the stream, nothing is written outside the artifact directory.
func FuzzExtractTar(f *testing.F) {
	f.Add(tarOf([3]string{"a/b.txt", "0", "hello"}, [3]string{"a/", "5", ""}))
	f.Add(tarOf([3]string{"../evil", "0", "x"}))
	f.Add(tarOf([3]string{"out", "2", ".."}, [3]string{"out/evil", "0", "x"}))
	f.Fuzz(func(t *testing.T, stream []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "artifact")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_, _ = extractTar(bytes.NewReader(stream), dir)
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("extraction wrote next to the artifact: %v", entries)
		}
	})
}
