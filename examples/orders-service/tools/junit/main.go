// Command junit converts `go test -json` output into JUnit XML, for report viewers
// that know JUnit but not Go (CodeBuild's JUNITXML reports among them). It uses the
// standard library only, so a build machine with just Go can run it.
//
//	go test -json ./... > reports/unit.json
//	go run ./tools/junit -o reports/junit.xml reports/unit.json
//
// It exits 0 when the conversion succeeds, whatever the tests did: the test command
// decides whether the build fails.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"example.com/orders-service/tools/internal/xmlreport"
)

func main() {
	out := flag.String("o", "", "write the XML here instead of standard output")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: junit [-o out.xml] [go-test.json]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "junit:", err)
		os.Exit(1)
	}
}

func run(inPath, outPath string) error {
	in := io.Reader(os.Stdin)
	name := "standard input"
	if inPath != "" {
		f, err := os.Open(inPath)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, inPath
	}
	doc, err := Convert(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if outPath == "" {
		return xmlreport.Write(os.Stdout, doc)
	}
	return xmlreport.WriteFile(outPath, doc)
}
