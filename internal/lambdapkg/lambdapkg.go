// Package lambdapkg builds Lambda deployment packages for the provided.al2023
// runtime: Go programs cross-compiled for Linux and zipped with the function's
// `bootstrap` at the root. The same sources give the same bytes (programs built
// with -trimpath, entries sorted and dated 1980-01-01), so the stack's
// source_code_hash changes only when the code does.
package lambdapkg

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
)

// Program is one Go program of a package.
type Program struct {
	Name string   // path inside the zip: "bootstrap", "dist/orders-service"
	Pkg  string   // the package to build, as `go build` takes it
	Dir  string   // the directory (module) to build in; "" = the working directory
	Tags []string // build tags
}

// Build compiles programs for linux/arch and writes them into the zip out.
func Build(ctx context.Context, out, arch string, programs []Program) error {
	tmp, err := os.MkdirTemp("", "lambdapkg-")
	if err != nil {
		return fmt.Errorf("build %s: %w", out, err)
	}
	defer os.RemoveAll(tmp)
	var files []File
	for i, p := range programs {
		bin := filepath.Join(tmp, fmt.Sprintf("program-%d", i))
		if err := compile(ctx, p, arch, bin); err != nil {
			return err
		}
		files = append(files, File{Name: p.Name, Path: bin, Executable: true})
	}
	return Zip(out, files)
}

func compile(ctx context.Context, p Program, arch, bin string) error {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", abs}
	if len(p.Tags) > 0 {
		args = append(args, "-tags", strings.Join(p.Tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, p.Pkg)...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s (%s for linux/%s): %w\n%s", p.Name, p.Pkg, arch, err, output)
	}
	return nil
}

// File is one entry of a package.
type File struct {
	Name       string // path inside the zip, with forward slashes
	Path       string // file to read
	Executable bool
}

// epoch is the time of every entry: zip's earliest, so the bytes never depend on
// when the package was built.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip writes files, sorted by name, into the zip out atomically.
func Zip(out string, files []File) error {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		if err := addFile(zw, f); err != nil {
			return fmt.Errorf("package %s: %w", out, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("package %s: %w", out, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("package %s: %w", out, err)
	}
	return atomicfile.Write(out, buf.Bytes(), 0o644)
}

func addFile(zw *zip.Writer, f File) error {
	src, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	mode := os.FileMode(0o644)
	if f.Executable {
		mode = 0o755
	}
	h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: epoch}
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("add %s: %w", f.Name, err)
	}
	if _, err := io.Copy(w, src); err != nil {
		return fmt.Errorf("add %s: %w", f.Name, err)
	}
	return nil
}
