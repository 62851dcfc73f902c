// Package gobuild builds Go programs for the tests and benchmarks: the greenlight
// binary under test, the small applications the tests release, and the example
// service at a given version.
package gobuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Options of one build.
type Options struct {
	Dir      string // directory (module) the package resolves in; "" = the working directory
	Version  string // sets main.version with -ldflags -X when not empty
	Static   bool   // CGO_ENABLED=0: the binary also runs in a FROM scratch image
	Trimpath bool
}

// Build compiles the package pkg into out; a failure carries the compiler's output.
func Build(ctx context.Context, pkg, out string, opts Options) error {
	args := []string{"build", "-o", out}
	if opts.Trimpath {
		args = append(args, "-trimpath")
	}
	if opts.Version != "" {
		args = append(args, "-ldflags", "-X main.version="+opts.Version)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = opts.Dir
	cmd.Env = os.Environ()
	if opts.Static {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
	}
	return nil
}

// Program is one binary a test package needs: built from Pkg into a temporary
// directory as Name, its path stored in *Path.
type Program struct {
	Pkg  string
	Name string
	Path *string
	Options
}

// Main is a TestMain body: it builds the programs once, runs the tests, removes
// the binaries, and returns the exit status (os.Exit(gobuild.Main(m, ...))).
func Main(m *testing.M, programs ...Program) int {
	dir, err := os.MkdirTemp("", "gobuild-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, p := range programs {
		*p.Path = filepath.Join(dir, p.Name)
		if err := Build(context.Background(), p.Pkg, *p.Path, p.Options); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}
