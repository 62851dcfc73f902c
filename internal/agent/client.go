package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/process"
)

// Client talks to the agent of a state directory over its unix socket.
type Client struct {
	http  *http.Client
	token string
	dir   string
}

// base is the URL prefix of every request: the host is ignored, the socket decides.
const base = "http://agent"

// Dial returns a client for the agent of stateDir (it does not check the agent runs).
func Dial(stateDir string) (*Client, error) {
	tok, err := os.ReadFile(filepath.Join(stateDir, TokenFile))
	if err != nil {
		return nil, fmt.Errorf("read agent token: %w", err)
	}
	sock, err := SocketPath(stateDir)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{http: &http.Client{Transport: tr}, token: strings.TrimSpace(string(tok)), dir: stateDir}, nil
}

// Health returns the agent's identity; an error means it does not answer.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.do(ctx, http.MethodGet, "/v1/health", nil, &h)
	return h, err
}

// Service returns a service's routing, or nil when the agent does not route it.
func (c *Client) Service(ctx context.Context, name string) (*routing.ServiceStatus, error) {
	var st routing.ServiceStatus
	err := c.do(ctx, http.MethodGet, "/v1/services/"+url.PathEscape(name), nil, &st)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// Services returns the routing of every service the agent routes.
func (c *Client) Services(ctx context.Context) ([]routing.ServiceStatus, error) {
	var out []routing.ServiceStatus
	err := c.do(ctx, http.MethodGet, "/v1/services", nil, &out)
	return out, err
}

// Apply replaces a service's routing atomically.
func (c *Client) Apply(ctx context.Context, spec routing.ServiceSpec) (*routing.ServiceStatus, error) {
	var st routing.ServiceStatus
	if err := c.do(ctx, http.MethodPut, "/v1/services/"+url.PathEscape(spec.Name), spec, &st); err != nil {
		return nil, fmt.Errorf("apply routing of %s: %w", spec.Name, err)
	}
	return &st, nil
}

// Remove drains and removes a service's routing.
func (c *Client) Remove(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/services/"+url.PathEscape(name), nil, nil)
}

// Series returns a service's completed metric slots after sinceMs.
func (c *Client) Series(ctx context.Context, service string, sinceMs int64) ([]metrics.Series, error) {
	var out []metrics.Series
	err := c.do(ctx, http.MethodGet, "/v1/services/"+url.PathEscape(service)+"/metrics?since="+strconv.FormatInt(sinceMs, 10), nil, &out)
	return out, err
}

// Shutdown stops the agent; with stopProcesses also the controller and every
// process it supervises.
func (c *Client) Shutdown(ctx context.Context, stopProcesses bool) error {
	path := "/v1/shutdown"
	if stopProcesses {
		path += "?processes=stop"
	}
	return c.do(ctx, http.MethodPost, path, nil, nil)
}

// ProcessDriver is the process runtime driver, backed by the agent's supervisor.
func (c *Client) ProcessDriver() runtime.Driver {
	return process.New(c.http, base, c.token)
}

var errNotFound = errors.New("not found")

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("agent %s: %w", c.dir, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errNotFound
	}
	if resp.StatusCode/100 != 2 {
		var e apiError
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("agent: %s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("agent: decode %s: %w", path, err)
	}
	return nil
}
