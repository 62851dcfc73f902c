package source

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// Commit is one commit of a history listing.
type Commit struct {
	ID      string
	Author  string
	Time    time.Time
	Subject string
}

// History says which commits to list: those reachable from To and not from
// From, in the repository a source action recorded (its "repository" and
// "subdirectory" data), newest first.
type History struct {
	StateDir     string // where mirrors of remote repositories live
	Repository   string // a local path or a URL, as the source action recorded it
	Subdirectory string // only commits touching it ("" for all)
	From, To     string // From "": the history of To
	Limit        int    // at most this many (0: 50)
}

// Log lists the commits h selects; it reads the mirror of a remote repository
// as the last execution fetched it, and fetches nothing.
func (g *Git) Log(ctx context.Context, h History) ([]Commit, error) {
	limit := h.Limit
	if limit <= 0 {
		limit = 50
	}
	if !isHex(h.To) || (h.From != "" && !isHex(h.From)) {
		return nil, fmt.Errorf("log %s..%s: commits are named by their full ids", h.From, h.To)
	}
	rng := h.To
	if h.From != "" {
		rng = h.From + ".." + h.To
	}
	args := []string{"log", "--no-color", fmt.Sprintf("--max-count=%d", limit), "--format=%H%x00%an%x00%aI%x00%s%x00", rng, "--"}
	if h.Subdirectory != "" {
		args = append(args, h.Subdirectory)
	}
	out, err := g.gitBytes(ctx, g.gitDirOf(h), args...)
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", rng, err)
	}
	return parseLog(out)
}

// gitDirOf is where the source action ran git for a repository.
func (g *Git) gitDirOf(h History) string {
	if isURL(h.Repository) {
		return mirrorDir(h.StateDir, h.Repository)
	}
	return h.Repository
}

// parseLog parses `git log --format=%H%x00%an%x00%aI%x00%s%x00`: four fields a
// commit, each ended by a NUL, commits separated by newlines.
func parseLog(b []byte) ([]Commit, error) {
	fields := bytes.Split(b, []byte{0})
	var out []Commit
	for i := 0; i+4 <= len(fields); i += 4 {
		id := strings.TrimSpace(string(fields[i]))
		if !isHex(id) {
			return nil, fmt.Errorf("git log: %q is not a commit id", id)
		}
		at, err := time.Parse(time.RFC3339, string(fields[i+2]))
		if err != nil {
			return nil, fmt.Errorf("git log: date of %s: %w", id, err)
		}
		out = append(out, Commit{ID: id, Author: string(fields[i+1]), Time: at, Subject: string(fields[i+3])})
	}
	if rest := bytes.TrimSpace(fields[len(fields)-1]); len(fields)%4 != 1 || len(rest) > 0 {
		return nil, fmt.Errorf("git log: %d fields, want four a commit", len(fields)-1)
	}
	return out, nil
}
