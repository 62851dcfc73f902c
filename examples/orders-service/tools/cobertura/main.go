// Command cobertura converts a Go cover profile (`go test -coverprofile`) into
// Cobertura XML, the coverage format CodeBuild's COBERTURAXML report groups (and
// greenlight's) read. It uses the standard library only, so a build machine with
// just Go can run it.
//
//	go test -coverprofile=coverage.out ./...
//	go run ./tools/cobertura -o reports/coverage.xml coverage.out
package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("o", "", "write the XML here instead of standard output")
	module := flag.String("module", "", "module path to strip from file names (default: the module of ./go.mod)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cobertura [-o coverage.xml] [-module path] coverage.out")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, *module); err != nil {
		fmt.Fprintln(os.Stderr, "cobertura:", err)
		os.Exit(1)
	}
}

func run(inPath, outPath, module string) error {
	f, err := os.Open(inPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if module == "" {
		module = modulePath("go.mod")
	}
	doc, err := Convert(f, module)
	if err != nil {
		return fmt.Errorf("%s: %w", inPath, err)
	}
	if outPath == "" {
		return write(os.Stdout, doc)
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return err
	}
	tmp := outPath + ".tmp"
	w, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(w, doc); err != nil {
		w.Close()
		os.Remove(tmp)
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, outPath)
}

func write(w io.Writer, doc *Coverage) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// modulePath reads the module line of a go.mod, or "" when there is none.
func modulePath(goMod string) string {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
