package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/server"
)

// sse is one open event stream.
type sse struct {
	resp *http.Response
	sc   *bufio.Scanner
}

type sseEvent struct {
	id, name string
	ev       event.Event
}

func (h *harness) openSSE(t *testing.T, query, lastID string) *sse {
	t.Helper()
	req, err := http.NewRequest("GET", h.url+"/api/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.tokens["viewer"])
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return &sse{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next reads the next event, skipping comments; ok is false at the stream's end.
func (s *sse) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	var e sseEvent
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && e.name != "":
			return e, true
		case strings.HasPrefix(line, "id: "):
			e.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			e.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &e.ev); err != nil {
				t.Fatalf("data %q: %v", line, err)
			}
		}
	}
	return e, false
}

func (h *harness) appendEvents(t *testing.T, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		_, err := h.db.AppendEvent(context.Background(), event.Event{Time: time.Now(), Kind: event.KindExecution,
			ExecutionID: "e-1", Status: "InProgress", Message: fmt.Sprintf("event %d", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Events appended while no client is connected arrive once, in order, when
// the client reconnects with Last-Event-ID; the stream ends when the server
// closes.
func TestEventStreamResumesWithLastEventID(t *testing.T) {
	h := newHarness(t, nil)
	h.appendEvents(t, 0, 3)
	var got []sseEvent
	first := h.openSSE(t, "?execution_id=e-1", "")
	for len(got) < 3 {
		e, ok := first.next(t)
		if !ok {
			t.Fatal("stream ended early")
		}
		got = append(got, e)
	}
	h.appendEvents(t, 3, 2) // sent on the first connection, or not: the client's Last-Event-ID says
	_ = first.resp.Body.Close()
	h.appendEvents(t, 5, 3)
	second := h.openSSE(t, "?execution_id=e-1", got[len(got)-1].id)
	for len(got) < 8 {
		e, ok := second.next(t)
		if !ok {
			t.Fatal("stream ended early")
		}
		got = append(got, e)
	}
	for i, e := range got {
		if e.ev.Message != fmt.Sprintf("event %d", i) || e.id != strconv.FormatInt(e.ev.Seq, 10) || e.name != "execution" {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	_ = h.srv.Close()
	if e, ok := second.next(t); ok {
		t.Fatalf("after Close: %+v", e)
	}
}

func TestEventsAsJSONAndResumeWithAfter(t *testing.T) {
	h := newHarness(t, nil)
	h.appendEvents(t, 0, 4)
	_, body := h.do(t, "viewer", "GET", "/api/v1/events", "")
	var all []event.Event
	if err := json.Unmarshal([]byte(body), &all); err != nil || len(all) != 4 {
		t.Fatalf("events: %s", body)
	}
	s := h.openSSE(t, "?after="+strconv.FormatInt(all[1].Seq, 10), "")
	for i := 2; i < 4; i++ {
		e, ok := s.next(t)
		if !ok || e.ev.Seq != all[i].Seq {
			t.Fatalf("event %d: %+v, %v", i, e, ok)
		}
	}
	_, body = h.do(t, "viewer", "GET", "/api/v1/events?kind=deployment", "")
	if strings.TrimSpace(body) != "[]" {
		t.Errorf("deployment events: %s", body)
	}
}

// An idle stream gets a heartbeat comment.
func TestEventStreamHeartbeat(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.Heartbeat = 10 * time.Millisecond })
	s := h.openSSE(t, "", "")
	for s.sc.Scan() {
		if s.sc.Text() == ": heartbeat" {
			return
		}
	}
	t.Fatal("the stream ended without a heartbeat")
}
