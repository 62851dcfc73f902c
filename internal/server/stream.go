package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// stream writes a live answer, flushing every write: server-sent events or
// followed text.
type stream struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	lastWrite time.Time
}

// openStream starts a live answer of contentType; the write deadline a server
// sets for ordinary answers does not apply to it.
func openStream(w http.ResponseWriter, contentType string) *stream {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies pass each write on
	w.WriteHeader(http.StatusOK)
	st := &stream{w: w, rc: http.NewResponseController(w), lastWrite: time.Now()}
	_ = st.rc.SetWriteDeadline(time.Time{}) // not every writer has deadlines
	_ = st.rc.Flush()
	return st
}

// write writes text and flushes it.
func (st *stream) write(text string) error {
	if _, err := fmt.Fprint(st.w, text); err != nil {
		return err
	}
	st.lastWrite = time.Now()
	return st.rc.Flush()
}

// event writes one server-sent event: its id, its type and its data as JSON on
// one line (JSON never needs a line break, so data is one data: line).
func (st *stream) event(id, name string, v any) error {
	data, err := json.Marshal(emptyLists(v))
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	head := ""
	if id != "" {
		head = "id: " + id + "\n"
	}
	return st.write(head + "event: " + name + "\ndata: " + string(data) + "\n\n")
}

// keepAlive writes a comment when nothing was written for every.
func (st *stream) keepAlive(every time.Duration) error {
	if time.Since(st.lastWrite) < every {
		return nil
	}
	return st.write(": heartbeat\n\n")
}

// wait waits for the next read: false when the client went away or the server
// closes.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	case <-t.C:
		return true
	}
}
