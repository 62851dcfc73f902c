package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const profile = `mode: set
example.com/orders-service/internal/orders/orders.go:10.2,12.3 2 1
example.com/orders-service/internal/orders/orders.go:12.3,14.4 1 0
example.com/orders-service/internal/orders/store.go:5.1,5.20 1 0
example.com/orders-service/main.go:3.1,4.2 1 3
`

func TestConvert(t *testing.T) {
	doc, err := Convert(strings.NewReader(profile), "example.com/orders-service")
	if err != nil {
		t.Fatal(err)
	}
	// orders.go: lines 10-14, 12 covered by the first block (hits are the max); 13, 14 not.
	if doc.LinesValid != 8 || doc.LinesCovered != 5 || doc.LineRate != "0.6250" {
		t.Fatalf("totals: %d/%d, rate %s", doc.LinesCovered, doc.LinesValid, doc.LineRate)
	}
	if len(doc.Packages) != 2 || doc.Packages[0].Name != "." || doc.Packages[1].Name != "internal/orders" {
		t.Fatalf("packages = %+v", doc.Packages)
	}
	orders := doc.Packages[1].Classes[0]
	if orders.Filename != "internal/orders/orders.go" || len(orders.Lines) != 5 || orders.Lines[2] != (Line{Number: 12, Hits: 1}) || orders.Lines[3].Hits != 0 {
		t.Fatalf("orders.go = %+v", orders)
	}
}

func TestConvertRefusesWhatIsNotAProfile(t *testing.T) {
	for _, in := range []string{"", "mode: set\n", "mode: set\nfile.go:1.1 1 1\n", "mode: set\nfile.go:3.1,1.1 1 1\n"} {
		if _, err := Convert(strings.NewReader(in), ""); err == nil {
			t.Errorf("Convert(%q) succeeded", in)
		}
	}
}

// TestRealProfile converts the cover profile of a real `go test` of this module.
func TestRealProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test")
	}
	dir := t.TempDir()
	cover := filepath.Join(dir, "coverage.out")
	cmd := exec.Command("go", "test", "-coverprofile="+cover, "./internal/orders/")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	xmlPath := filepath.Join(dir, "coverage.xml")
	if err := run(cover, xmlPath, "example.com/orders-service"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`<class name="orders" filename="internal/orders/orders.go"`)) || !bytes.HasPrefix(data, []byte("<?xml")) {
		t.Fatalf("coverage.xml:\n%s", data[:min(len(data), 600)])
	}
}

// FuzzConvert: any input converts or fails with an error; a converted profile
// never counts more covered lines than lines.
func FuzzConvert(f *testing.F) {
	f.Add([]byte(profile))
	f.Add([]byte("mode: atomic\na.go:1.1,1.5 1 0\n"))
	f.Add([]byte("mode: set\na.go:3.1,1.1 1 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Convert(bytes.NewReader(data), "")
		if err != nil {
			return
		}
		if doc.LinesCovered > doc.LinesValid || doc.LinesValid == 0 {
			t.Fatalf("covered %d of %d lines", doc.LinesCovered, doc.LinesValid)
		}
	})
}
