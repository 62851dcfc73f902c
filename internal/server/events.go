package server

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// streamBatch is how many events a stream reads at once.
const streamBatch = 500

// eventQuery reads the filters of GET /api/v1/events; a stream resumes after
// Last-Event-ID when the client sends one.
func eventQuery(r *http.Request) (event.Query, error) {
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return event.Query{}, err
	}
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		if after, err = strconv.ParseInt(strings.TrimSpace(last), 10, 64); err != nil {
			return event.Query{}, badRequest("Last-Event-ID %q: not an event sequence number", last)
		}
	}
	limit, err := queryLimit(r)
	if err != nil {
		return event.Query{}, err
	}
	q := r.URL.Query()
	out := event.Query{ExecutionID: q.Get("execution_id"), DeploymentIDs: q["deployment_id"], AfterSeq: after, Limit: limit}
	for _, k := range q["kind"] {
		out.Kinds = append(out.Kinds, event.Kind(k))
	}
	return out, nil
}

// wantsStream reports whether the client asked for server-sent events.
func wantsStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == "text/event-stream" {
			return true
		}
	}
	return false
}

func events(s *Server, c *call) error {
	q, err := eventQuery(c.r)
	if err != nil {
		return err
	}
	if wantsStream(c.r) {
		s.streamEvents(c, q)
		return nil
	}
	evs, err := s.opts.Backend.Events(c.r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, evs)
	return nil
}

// streamEvents sends every event q selects as a server-sent event (id: its
// sequence number, event: its kind, data: it as JSON), then each new one as it
// is stored, until the client goes away or the server closes. Reading after
// the last sequence number sent is what makes a resume lose and repeat
// nothing.
func (s *Server) streamEvents(c *call, q event.Query) {
	st := openStream(c.w, "text/event-stream")
	q.Limit = streamBatch
	for {
		evs, err := s.opts.Backend.Events(c.r.Context(), q)
		if err != nil {
			if c.r.Context().Err() == nil {
				_ = st.event("", "error", ErrorBody{Error: detailOf(err)})
			}
			return
		}
		for _, e := range evs {
			if st.event(strconv.FormatInt(e.Seq, 10), string(e.Kind), e) != nil {
				return
			}
			q.AfterSeq = e.Seq
		}
		if len(evs) == streamBatch {
			continue // more are stored already
		}
		if st.keepAlive(s.opts.Heartbeat) != nil || !s.wait(c.r, s.opts.Poll) {
			return
		}
	}
}

func detailOf(err error) ErrorDetail {
	_, d := errorOf(err)
	return d
}
