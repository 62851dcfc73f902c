package server

import (
	"net/http"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// readLog answers a chunk of an action's log as JSON, or with ?follow=1 the
// log from the offset as text/plain, written as it grows, until the action
// ends.
func readLog(s *Server, c *call) error {
	offset, err := queryInt(c.r, "offset", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c.r, "limit", 0)
	if err != nil || limit < 0 || limit > control.DefaultLogLimit {
		return badRequest("query parameter limit: want 0 to %d bytes", control.DefaultLogLimit)
	}
	req := control.LogRequest{ActionRef: actionRef(c.r), Offset: offset, Limit: int(limit)}
	chunk, err := s.opts.Backend.ReadLog(c.r.Context(), req)
	if err != nil {
		return err
	}
	if !queryBool(c.r, "follow") {
		writeJSON(c.w, http.StatusOK, chunk)
		return nil
	}
	s.followLog(c, req, chunk)
	return nil
}

// followLog writes the log from the first chunk on and keeps reading until the
// action ended and everything it wrote was sent, the client went away or the
// server closes. An error after the answer began ends it: the client sees the
// text stop.
func (s *Server) followLog(c *call, req control.LogRequest, chunk control.LogChunk) {
	st := openStream(c.w, "text/plain; charset=utf-8")
	ended := false // the action had ended at the last read: one more read gets what it wrote last
	for {
		if chunk.Text != "" && st.write(chunk.Text) != nil {
			return
		}
		req.Offset = chunk.NextOffset
		if chunk.Text == "" {
			if ended {
				return
			}
			var err error
			if ended, err = s.actionEnded(c, req.ActionRef); err != nil || (!ended && !s.wait(c.r, s.opts.Poll)) {
				return
			}
		}
		var err error
		if chunk, err = s.opts.Backend.ReadLog(c.r.Context(), req); err != nil {
			s.log.Warn("follow log", "execution", req.ExecutionID, "stage", req.Stage, "action", req.Action, "err", err)
			return
		}
	}
}

// actionEnded reports whether an action will write no more: it ran and is
// not in progress, or its execution is final.
func (s *Server) actionEnded(c *call, ref control.ActionRef) (bool, error) {
	v, err := s.opts.Backend.GetExecution(c.r.Context(), ref.ExecutionID)
	if err != nil {
		return false, err
	}
	if v.Status.Final() {
		return true, nil
	}
	a, err := control.FindAction(v, ref)
	if err != nil {
		return false, err
	}
	return a.Status != "" && a.Status != control.StatusInProgress, nil
}
