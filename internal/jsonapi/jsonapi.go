// Package jsonapi is the client side of greenlight's local admin APIs (the agent's,
// its process supervisor's): JSON over HTTP with a bearer token, on a unix socket
// or any http.Client. An answer other than 2xx becomes a *StatusError carrying the
// status and the server's {"error": "..."} message, for callers to map to their
// own typed errors.
package jsonapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Client calls one API.
type Client struct {
	http  *http.Client
	base  string
	token string
}

// New returns a client that sends every request to baseURL+path with
// Authorization: Bearer token. client must have no total timeout when a caller
// streams (Stream).
func New(client *http.Client, baseURL, token string) *Client {
	return &Client{http: client, base: strings.TrimSuffix(baseURL, "/"), token: token}
}

// UnixClient returns an http.Client that reaches the server listening on the
// unix socket at path, whatever the URL's host. Each request takes a new
// connection: one costs microseconds, and a kept-alive one races the server
// closing it (an agent that handed over to a successor closes the connections
// it has, and a PUT sent on one at that moment fails with a reset).
func UnixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}}
}

// StatusError is an answer other than 2xx.
type StatusError struct {
	Method, Path string
	Code         int    // HTTP status code
	Message      string // the server's error message, or the answer's start
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Code, http.StatusText(e.Code), e.Message)
}

// Code returns the status of an error answer, 0 for any other error.
func Code(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// Do sends in as JSON (nil: no body) with header, and decodes a 2xx answer into
// out (nil: the answer is dropped).
func (c *Client) Do(ctx context.Context, method, path string, header http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.send(ctx, method, path, header, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// Stream sends a GET and returns the 2xx answer for the caller to read and close.
func (c *Client) Stream(ctx context.Context, path string) (*http.Response, error) {
	return c.send(ctx, http.MethodGet, path, nil, nil)
}

func (c *Client) send(ctx context.Context, method, path string, header http.Header, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, statusError(method, path, resp)
}

func statusError(method, path string, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(data))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return &StatusError{Method: method, Path: path, Code: resp.StatusCode, Message: msg}
}
