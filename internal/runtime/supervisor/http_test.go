package supervisor

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/runtimetest"
)

func TestHandlerErrors(t *testing.T) {
	s := newSupervisor(t, t.TempDir())
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	cases := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/v1/processes/nope", "", 404, "task not found"},
		{"GET", "/v1/processes/nope/logs", "", 404, "task not found"},
		{"DELETE", "/v1/processes/nope", "", 204, ""},
		{"DELETE", "/v1/processes/nope?grace=soon", "", 400, "grace \"soon\""},
		{"DELETE", "/v1/processes/nope?grace=-1s", "", 400, "not negative"},
		{"GET", "/v1/processes?label=service", "", 400, "label \"service\": want key=value"},
		{"POST", "/v1/processes", "{", 400, "decode task spec"},
		{"POST", "/v1/processes", `{"ID":"a b","ProcessCommand":["x"]}`, 400, "invalid task ID"},
		{"GET", "/v1/processes/x/logs?follow=maybe", "", 400, "want 1 or 0"},
		{"PUT", "/v1/elsewhere", "", 404, "no route for PUT /v1/elsewhere"},
	}
	for _, c := range cases {
		req, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s = %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.status)
			continue
		}
		if c.want == "" {
			continue
		}
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, c.want) {
			t.Errorf("%s %s body %s, want JSON error containing %q", c.method, c.path, body, c.want)
		}
	}
}

// TestHandlerFollowStreams reads a followed log line by line while the task
// runs: the handler must flush as it goes, not at the end.
func TestHandlerFollowStreams(t *testing.T) {
	s := newSupervisor(t, t.TempDir())
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	id := runtimetest.NewID("http-follow")
	runtimetest.Start(t, s, serverSpec(id, map[string]string{runtime.LabelService: id}))

	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/processes/"+id+"/logs?follow=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, "testserver listening") {
		t.Fatalf("first streamed line %q, %v", line, err)
	}
}
