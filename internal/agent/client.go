package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsonapi"
	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/process"
)

// Client talks to the agent of a state directory over its unix socket.
type Client struct {
	api *jsonapi.Client
	dir string
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
	hc := jsonapi.UnixClient(sock)
	hc.Transport = handedOverRetry{next: hc.Transport}
	return &Client{api: jsonapi.New(hc, base, strings.TrimSpace(string(tok))), dir: stateDir}, nil
}

// handedOverRetry sends a request again when the agent that answered had handed
// over to a successor (it did nothing): the next connection reaches the
// successor. A restart is thus invisible to the agent's callers, the process
// driver included.
type handedOverRetry struct{ next http.RoundTripper }

// handedOverRetries bounds the retries: a hand-over answers within
// milliseconds.
const handedOverRetries = 200

func (t handedOverRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get(handedOverHeader) == "" ||
			attempt == handedOverRetries || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if req, err = rewound(req); err != nil {
			return nil, err
		}
		if !sleepCtx(req.Context(), 10*time.Millisecond) {
			return nil, req.Context().Err()
		}
	}
}

// rewound is req with its body from the start again.
func rewound(req *http.Request) (*http.Request, error) {
	if req.Body == nil {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("rewind request body: %w", err)
	}
	next := req.Clone(req.Context())
	next.Body = body
	return next, nil
}

// Health returns the agent's identity; an error means it does not answer.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.do(ctx, http.MethodGet, "/v1/health", nil, nil, &h)
	return h, err
}

// Service returns a service's routing, or nil when the agent does not route it.
func (c *Client) Service(ctx context.Context, name string) (*routing.ServiceStatus, error) {
	var st routing.ServiceStatus
	err := c.do(ctx, http.MethodGet, "/v1/services/"+url.PathEscape(name), nil, nil, &st)
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
	err := c.do(ctx, http.MethodGet, "/v1/services", nil, nil, &out)
	return out, err
}

// Apply replaces a service's routing atomically. With ifVersion > 0 only if the
// service is still at that version (If-Match): routing.ErrStale when it changed.
// An invalid spec is routing.ErrInvalidSpec, a change the agent could not record
// routing.ErrNotPersisted.
func (c *Client) Apply(ctx context.Context, spec routing.ServiceSpec, ifVersion uint64) (*routing.ServiceStatus, error) {
	var header http.Header
	if ifVersion > 0 {
		header = http.Header{"If-Match": {strconv.FormatUint(ifVersion, 10)}}
	}
	var st routing.ServiceStatus
	if err := c.do(ctx, http.MethodPut, "/v1/services/"+url.PathEscape(spec.Name), header, spec, &st); err != nil {
		return nil, fmt.Errorf("apply routing of %s: %w", spec.Name, err)
	}
	return &st, nil
}

// Remove drains and removes a service's routing.
func (c *Client) Remove(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/services/"+url.PathEscape(name), nil, nil, nil)
}

// Series returns a service's completed metric slots after sinceMs.
func (c *Client) Series(ctx context.Context, service string, sinceMs int64) ([]metrics.Series, error) {
	var out []metrics.Series
	err := c.do(ctx, http.MethodGet, "/v1/services/"+url.PathEscape(service)+"/metrics?since="+strconv.FormatInt(sinceMs, 10), nil, nil, &out)
	return out, err
}

// Shutdown stops the agent; with stopProcesses also the controller and every
// process it supervises.
func (c *Client) Shutdown(ctx context.Context, stopProcesses bool) error {
	path := "/v1/shutdown"
	if stopProcesses {
		path += "?processes=stop"
	}
	return c.do(ctx, http.MethodPost, path, nil, nil, nil)
}

// ProcessDriver is the process runtime driver, backed by the agent's supervisor.
func (c *Client) ProcessDriver() runtime.Driver {
	return process.New(c.api)
}

var errNotFound = errors.New("not found")

// do calls the agent's API and turns its error answers into the routing
// contract's errors.
func (c *Client) do(ctx context.Context, method, path string, header http.Header, in, out any) error {
	err := c.api.Do(ctx, method, path, header, in, out)
	switch jsonapi.Code(err) {
	case 0:
		if err != nil {
			return fmt.Errorf("agent %s: %w", c.dir, err)
		}
		return nil
	case http.StatusNotFound:
		return errNotFound
	case http.StatusBadRequest:
		return fmt.Errorf("%w: %w", routing.ErrInvalidSpec, err)
	case http.StatusConflict:
		return fmt.Errorf("%w: %w", routing.ErrStale, err)
	case http.StatusInternalServerError:
		if method == http.MethodPut || method == http.MethodDelete {
			return fmt.Errorf("%w: %w", routing.ErrNotPersisted, err)
		}
	}
	return fmt.Errorf("agent: %w", err)
}
