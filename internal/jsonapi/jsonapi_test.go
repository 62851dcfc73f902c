package jsonapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// serve runs handler on a unix socket, as the agent does, and returns a client.
func serve(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return New(UnixClient(sock), "http://agent", "s3cret")
}

func TestDoSendsJSONWithTheTokenAndDecodesTheAnswer(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		var in map[string]int
		if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("If-Match") != "7" ||
			r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"got": in["n"] + 1, "path": len(r.URL.Path)})
	})
	var out map[string]int
	err := c.Do(context.Background(), http.MethodPut, "/v1/x", http.Header{"If-Match": {"7"}}, map[string]int{"n": 41}, &out)
	if err != nil || out["got"] != 42 || out["path"] != len("/v1/x") {
		t.Fatalf("out %v, %v", out, err)
	}
}

func TestErrorAnswersCarryTheStatusAndTheServersMessage(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":"service \"web\" changed: version is 8, not 7"}`)
		default:
			http.Error(w, "plain failure", http.StatusInternalServerError)
		}
	})
	err := c.Do(context.Background(), http.MethodGet, "/json", nil, nil, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusConflict || Code(err) != 409 || !strings.Contains(se.Message, "version is 8") {
		t.Fatalf("err %v", err)
	}
	err = c.Do(context.Background(), http.MethodGet, "/plain", nil, nil, nil)
	if Code(err) != 500 || !strings.Contains(err.Error(), "plain failure") {
		t.Fatalf("err %v", err)
	}
	if Code(errors.New("other")) != 0 {
		t.Error("Code of another error is not 0")
	}
}

func TestStreamReturnsTheBodyToRead(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "line 1\nline 2\n")
	})
	resp, err := c.Stream(context.Background(), "/v1/processes/t/logs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "line 1\nline 2\n" {
		t.Fatalf("body %q", b)
	}
}
