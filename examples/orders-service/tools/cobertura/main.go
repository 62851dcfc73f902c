// Command cobertura converts a Go cover profile (`go test -coverprofile`) into
// Cobertura XML, the coverage format CodeBuild's COBERTURAXML report groups (and
// greenlight's) read. It uses the standard library only, so a build machine with
// just Go can run it.
//
//	go test -coverprofile=coverage.out ./...
//	go run ./tools/cobertura -o reports/coverage.xml coverage.out
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"example.com/orders-service/tools/internal/xmlreport"
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
		return xmlreport.Write(os.Stdout, doc)
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return err
	}
	return xmlreport.WriteFile(outPath, doc)
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
