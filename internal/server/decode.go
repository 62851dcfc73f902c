package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxBody is the largest request body the API reads.
const MaxBody = 1 << 20

// decodeBody reads the JSON body into v: at most MaxBody bytes, no field v does
// not have, one value. An empty body leaves v as it is (every body is optional
// where its fields are).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooLarge):
		return badRequest("request body over %d bytes", MaxBody)
	case err != nil:
		return badRequest("request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if errors.As(err, &tooLarge) {
			return badRequest("request body over %d bytes", MaxBody)
		}
		return badRequest("request body: one JSON object expected, more follows it")
	}
	return nil
}

// queryInt reads an integer query parameter (def when absent).
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badRequest("query parameter %s=%q: not an integer", name, s)
	}
	return n, nil
}

// queryLimit reads ?limit=, which must not be negative.
func queryLimit(r *http.Request) (int, error) {
	n, err := queryInt(r, "limit", 0)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > 10000 {
		return 0, badRequest("query parameter limit=%d: want 0 to 10000", n)
	}
	return int(n), nil
}

// queryTime reads an RFC 3339 time query parameter (zero when absent).
func queryTime(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("query parameter %s=%q: want an RFC 3339 time like 2024-05-02T10:00:00Z", name, s)
	}
	return t, nil
}

// queryBool reads a flag: 1, true or yes.
func queryBool(r *http.Request, name string) bool {
	switch r.URL.Query().Get(name) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// parseLifetime reads a token lifetime: a Go duration (12h, 30m) or days (90d).
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, badRequest("expires_in %q: want a positive number of days like 90d, or a duration like 12h", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, badRequest("expires_in %q: want a positive duration like 12h or 90d", s)
	}
	return d, nil
}
