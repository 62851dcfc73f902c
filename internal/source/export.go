package source

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// export writes the tree of commit (its repo.prefix subdirectory) into dir with
// `git archive`: committed content only, file modes and symlinks kept.
func (g *Git) export(ctx context.Context, repo repository, commit, dir string) (int, error) {
	treeish := commit
	if repo.prefix != "" {
		treeish = commit + ":" + repo.prefix
	}
	cmd := exec.CommandContext(ctx, g.binary(), "-C", repo.gitDir, "archive", "--format=tar", treeish)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("git archive: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("git archive: %w", err)
	}
	files, extractErr := extractTar(out, dir)
	_, _ = io.Copy(io.Discard, out) // let git finish writing if extraction stopped early
	waitErr := cmd.Wait()
	switch {
	case waitErr != nil && strings.Contains(stderr.String(), "not a valid object name"):
		return 0, fmt.Errorf("subdirectory %s does not exist at commit %s", repo.prefix, commit)
	case waitErr != nil:
		return 0, fmt.Errorf("git archive %s: %v: %s", treeish, waitErr, strings.TrimSpace(stderr.String()))
	case extractErr != nil:
		return 0, fmt.Errorf("extract %s: %w", treeish, extractErr)
	}
	return files, nil
}

// extractTar writes a tar stream under dir and returns how many regular files it
// wrote. Entries that would land outside dir are refused.
func extractTar(r io.Reader, dir string) (int, error) {
	tr := tar.NewReader(r)
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, err
		}
		name := filepath.FromSlash(strings.TrimSuffix(h.Name, "/"))
		if h.Typeflag == tar.TypeXGlobalHeader || name == "" || name == "." {
			continue
		}
		if isSparse(h) {
			// Sparse entries expand to their declared size: git never writes them.
			return files, fmt.Errorf("entry %q: sparse files are not supported", h.Name)
		}
		if !filepath.IsLocal(name) {
			return files, fmt.Errorf("entry %q leaves the artifact directory", h.Name)
		}
		target := filepath.Join(dir, name)
		if err := insideNoSymlink(dir, name); err != nil {
			return files, err
		}
		if h.Typeflag != tar.TypeDir {
			// Replace, never write through, whatever is there (a symlink above all).
			if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
				return files, err
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr, h.FileInfo().Mode().Perm())
			files++
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, target)
		default:
			err = fmt.Errorf("entry %q: unsupported type %q", h.Name, h.Typeflag)
		}
		if err != nil {
			return files, err
		}
	}
}

func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// insideNoSymlink refuses a path whose parent directories include a symlink the
// archive created earlier: writing through it could land outside dir.
func insideNoSymlink(dir, name string) error {
	parent := filepath.Dir(name)
	for p := parent; p != "." && p != string(filepath.Separator); p = filepath.Dir(p) {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("entry %q is below the symlink %s", name, p)
		}
	}
	return nil
}

func writeFile(path string, r io.Reader, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
