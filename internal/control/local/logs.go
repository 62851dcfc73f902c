package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// defaultLogLimit is how much of a log one ReadLog returns by default.
const defaultLogLimit = 1 << 20

// ReadLog returns part of an action's log file.
func (b *Backend) ReadLog(ctx context.Context, req control.LogRequest) (control.LogChunk, error) {
	v, act, err := b.action(ctx, req.ActionRef)
	if err != nil {
		return control.LogChunk{}, err
	}
	eng, err := b.pipelineEngine()
	if err != nil {
		return control.LogChunk{}, err
	}
	path, err := eng.LogPath(ctx, req.ExecutionID, req.Stage, req.Action)
	if err != nil {
		return control.LogChunk{}, wrap(err)
	}
	growing := !v.Status.Final() || act.Status == control.StatusInProgress
	if path == "" {
		return control.LogChunk{More: growing}, nil
	}
	limit := req.Limit
	if limit <= 0 {
		limit = defaultLogLimit
	}
	chunk, err := readChunk(path, req.Offset, limit)
	if err != nil {
		return control.LogChunk{}, fmt.Errorf("read log of %s/%s: %w", req.Stage, req.Action, err)
	}
	chunk.More = chunk.More || growing
	return chunk, nil
}

// readChunk reads up to limit bytes of path from offset (negative: from the end).
func readChunk(path string, offset int64, limit int) (control.LogChunk, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return control.LogChunk{}, nil
	}
	if err != nil {
		return control.LogChunk{}, err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		return control.LogChunk{}, err
	}
	size := info.Size()
	if offset < 0 {
		offset = max(size+offset, 0)
	}
	offset = min(offset, size)
	buf := make([]byte, min(int64(limit), size-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return control.LogChunk{}, err
	}
	next := offset + int64(n)
	return control.LogChunk{Text: string(buf[:n]), Offset: offset, NextOffset: next, More: next < size}, nil
}

// Reports returns the reports the action recorded with its outcome.
func (b *Backend) Reports(ctx context.Context, ref control.ActionRef) ([]report.Report, error) {
	_, act, err := b.action(ctx, ref)
	if err != nil {
		return nil, err
	}
	raw, ok := act.Data["reports"]
	if !ok || raw == nil {
		return []report.Report{}, nil
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("reports of %s/%s: %w", ref.Stage, ref.Action, err)
	}
	var out []report.Report
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("reports of %s/%s: %w", ref.Stage, ref.Action, err)
	}
	return out, nil
}

// action returns an execution and one of its actions, NotFound when either is
// not there.
func (b *Backend) action(ctx context.Context, ref control.ActionRef) (*control.Execution, *control.Action, error) {
	v, err := b.GetExecution(ctx, ref.ExecutionID)
	if err != nil {
		return nil, nil, err
	}
	if a := v.Action(ref.Stage, ref.Action); a != nil {
		return v, a, nil
	}
	return nil, nil, control.Errorf(control.CodeNotFound, "execution %s has no action %s/%s", ref.ExecutionID, ref.Stage, ref.Action)
}
