package build

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// ArtifactResult is one artifact the build uploaded: the primary one (empty
// Identifier) or a secondary one.
type ArtifactResult struct {
	Identifier string `json:"identifier,omitempty"`
	Dir        string `json:"dir"`
	Files      int    `json:"files"`
}

// artifactFailure is an artifact a buildspec asks for that cannot be made: a
// build failure (CodeBuild's CLIENT_ERROR in UPLOAD_ARTIFACTS), not a fault.
type artifactFailure struct{ msg string }

func (e *artifactFailure) Error() string { return e.msg }

// uploadArtifacts copies the primary artifact to req.ArtifactsDir and each
// secondary one to req.SecondaryArtifactsDir/<identifier>.
func (b *builder) uploadArtifacts() ([]ArtifactResult, error) {
	spec := b.req.Buildspec.Artifacts
	if spec == nil {
		return nil, nil
	}
	var results []ArtifactResult
	if len(spec.Files) > 0 {
		if b.req.ArtifactsDir == "" {
			return nil, fmt.Errorf("buildspec has artifacts but the request has no ArtifactsDir")
		}
		r, err := b.copyArtifact(spec, b.req.ArtifactsDir)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	for _, sec := range spec.SecondaryArtifacts {
		if b.req.SecondaryArtifactsDir == "" {
			return results, fmt.Errorf("buildspec has secondary artifacts but the request has no SecondaryArtifactsDir")
		}
		if sec.Identifier == "" || strings.ContainsAny(sec.Identifier, `/\`) || sec.Identifier == "." || sec.Identifier == ".." {
			return results, &artifactFailure{fmt.Sprintf("secondary artifact%s: identifier %q must be a plain name", at(sec.Pos), sec.Identifier)}
		}
		r, err := b.copyArtifact(sec, filepath.Join(b.req.SecondaryArtifactsDir, sec.Identifier))
		if err != nil {
			return results, err
		}
		r.Identifier = sec.Identifier
		results = append(results, r)
	}
	return results, nil
}

// copyArtifact collects files (globs relative to base-directory, minus
// exclude-paths) into dest, keeping relative paths, or only the file names with
// discard-paths. Symbolic links are followed unless enable-symlinks is set.
func (b *builder) copyArtifact(spec *manifest.BuildArtifacts, dest string) (ArtifactResult, error) {
	name := "primary artifact"
	if spec.Identifier != "" {
		name = "secondary artifact " + spec.Identifier
	}
	base, err := insideDir(b.workDir, spec.BaseDirectory)
	if err != nil {
		return ArtifactResult{}, &artifactFailure{fmt.Sprintf("%s%s: base-directory: %v", name, at(spec.Pos), err)}
	}
	files, unmatched, err := globFiles(base, spec.Files)
	if err != nil {
		if os.IsNotExist(err) {
			files = nil
		} else {
			return ArtifactResult{}, &artifactFailure{fmt.Sprintf("%s%s: %v", name, at(spec.Pos), err)}
		}
	}
	for _, p := range unmatched {
		b.logf("Skipping invalid file path %s", p)
	}
	var kept []string
	for _, rel := range files {
		if !excluded(rel, spec.ExcludePaths) {
			kept = append(kept, rel)
		}
	}
	if len(kept) == 0 {
		return ArtifactResult{}, &artifactFailure{fmt.Sprintf("%s%s: no matching artifact paths found (files: %s, base-directory: %q)",
			name, at(spec.Pos), strings.Join(spec.Files, ", "), spec.BaseDirectory)}
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return ArtifactResult{}, fmt.Errorf("create artifact directory: %w", err)
	}
	count := 0
	for _, rel := range kept {
		target := rel
		if spec.DiscardPaths {
			target = path.Base(rel)
		}
		src := filepath.Join(base, filepath.FromSlash(rel))
		info, err := os.Lstat(src)
		if err != nil {
			return ArtifactResult{}, fmt.Errorf("artifact file %s: %w", rel, err)
		}
		copied, err := copyEntry(src, filepath.Join(dest, filepath.FromSlash(target)), dirEntry{info}, !spec.EnableSymlinks)
		if err != nil {
			return ArtifactResult{}, fmt.Errorf("copy artifact file %s: %w", rel, err)
		}
		if copied {
			count++
		}
	}
	b.logf("Uploaded %s: %d files to %s", name, count, dest)
	return ArtifactResult{Dir: dest, Files: count}, nil
}

// dirEntry adapts a FileInfo to fs.DirEntry for copyEntry.
type dirEntry struct{ os.FileInfo }

func (d dirEntry) Type() os.FileMode          { return d.Mode().Type() }
func (d dirEntry) Info() (os.FileInfo, error) { return d.FileInfo, nil }
