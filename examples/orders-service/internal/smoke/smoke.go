// Package smoke owns the smoke test that deployment hooks run against a revision:
// wait until it is healthy, check its version, then create, read and list orders
// over real HTTP, failing on the first wrong answer.
package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"example.com/orders-service/internal/api"
	"example.com/orders-service/internal/orders"
)

// Options configures one smoke test.
type Options struct {
	BaseURL string // e.g. http://127.0.0.1:7081
	// ExpectVersion, when set, is the version /version must report: hooks pass the
	// smoke binary's own version, so a listener still routed to the old revision fails.
	ExpectVersion string
	// Rounds of create/get/list. Faults are random: with FAIL_RATE=0.5, three rounds
	// (eleven requests in all) let a bad release through with odds below 1 in 2000.
	Rounds       int
	Timeout      time.Duration // for the whole test, health wait included
	PollInterval time.Duration // between health checks while waiting
	Client       *http.Client
	Out          io.Writer // one line per passed check
}

// Run performs the smoke test and returns the first failure, naming the check.
func Run(ctx context.Context, opts Options) error {
	if opts.BaseURL == "" {
		return errors.New("no base URL")
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	c := &checker{base: strings.TrimRight(opts.BaseURL, "/"), client: opts.Client, out: opts.Out}

	if err := c.step("healthy", func() error { return c.waitHealthy(ctx, opts.PollInterval) }); err != nil {
		return err
	}
	if err := c.step("version", func() error { return c.version(ctx, opts.ExpectVersion) }); err != nil {
		return err
	}
	if err := c.step("rejects an invalid order", func() error { return c.rejectsInvalid(ctx) }); err != nil {
		return err
	}
	if err := c.step("unknown order is 404", func() error { return c.unknownIs404(ctx) }); err != nil {
		return err
	}
	for round := 1; round <= max(opts.Rounds, 1); round++ {
		name := fmt.Sprintf("create, get and list an order (round %d)", round)
		if err := c.step(name, func() error { return c.roundTrip(ctx, round) }); err != nil {
			return err
		}
	}
	return nil
}

type checker struct {
	base   string
	client *http.Client
	out    io.Writer
}

func (c *checker) step(name string, check func() error) error {
	start := time.Now()
	if err := check(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(c.out, "ok  %s (%s)\n", name, time.Since(start).Round(time.Millisecond))
	return nil
}

// waitHealthy polls /health: a revision that just started, or a listener whose
// targets are still passing their health checks, may need a moment.
func (c *checker) waitHealthy(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var body map[string]string
		err := c.do(ctx, http.MethodGet, "/health", nil, http.StatusOK, &body)
		if err == nil && body["status"] != "ok" {
			err = fmt.Errorf(`GET /health: body status %q, want "ok"`, body["status"])
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy before the deadline: %w", err)
		case <-tick.C:
		}
	}
}

func (c *checker) version(ctx context.Context, want string) error {
	var v api.VersionBody
	if err := c.do(ctx, http.MethodGet, "/version", nil, http.StatusOK, &v); err != nil {
		return err
	}
	if v.Version == "" {
		return errors.New("GET /version: empty version")
	}
	if want != "" && v.Version != want {
		return fmt.Errorf("GET /version: serves version %q, expected %q", v.Version, want)
	}
	fmt.Fprintf(c.out, "    version %s, started %s\n", v.Version, v.Started.Format(time.RFC3339))
	return nil
}

func (c *checker) rejectsInvalid(ctx context.Context) error {
	var body api.ErrorBody
	bad := orders.NewOrder{Customer: " ", Items: []orders.Item{{SKU: "SMOKE-1", Quantity: 0}}}
	if err := c.do(ctx, http.MethodPost, "/orders", bad, http.StatusBadRequest, &body); err != nil {
		return err
	}
	if len(body.Details) == 0 {
		return errors.New("POST /orders: 400 without field details")
	}
	return nil
}

func (c *checker) unknownIs404(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/orders/ord_smoke_does_not_exist", nil, http.StatusNotFound, &api.ErrorBody{})
}

func (c *checker) roundTrip(ctx context.Context, round int) error {
	in := orders.NewOrder{
		Customer: fmt.Sprintf("smoke-test-%d", round),
		Items: []orders.Item{
			{SKU: "SMOKE-1", Quantity: 2, PriceCents: 1250},
			{SKU: "SMOKE-2", Quantity: int64(round), PriceCents: 99},
		},
	}
	var created orders.Order
	if err := c.do(ctx, http.MethodPost, "/orders", in, http.StatusCreated, &created); err != nil {
		return err
	}
	if err := checkCreated(in, created); err != nil {
		return fmt.Errorf("POST /orders: %w", err)
	}
	var got orders.Order
	if err := c.do(ctx, http.MethodGet, "/orders/"+created.ID, nil, http.StatusOK, &got); err != nil {
		return err
	}
	if got.ID != created.ID || got.TotalCents != created.TotalCents || !slices.Equal(got.Items, created.Items) {
		return fmt.Errorf("GET /orders/%s: got %+v, created %+v", created.ID, got, created)
	}
	var list struct{ Orders []orders.Order }
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/orders?limit=%d", api.MaxListLimit), nil, http.StatusOK, &list); err != nil {
		return err
	}
	if !slices.ContainsFunc(list.Orders, func(o orders.Order) bool { return o.ID == created.ID }) {
		return fmt.Errorf("GET /orders: order %s missing from the list of %d", created.ID, len(list.Orders))
	}
	return nil
}

func checkCreated(in orders.NewOrder, o orders.Order) error {
	switch {
	case o.ID == "":
		return errors.New("created order has no id")
	case o.Status != orders.StatusPending:
		return fmt.Errorf("status %q, want %q", o.Status, orders.StatusPending)
	case o.TotalCents != in.Total():
		return fmt.Errorf("total_cents %d, want %d", o.TotalCents, in.Total())
	case o.Customer != in.Customer:
		return fmt.Errorf("customer %q, want %q", o.Customer, in.Customer)
	case o.CreatedAt.IsZero():
		return errors.New("created_at missing")
	}
	return nil
}

// do sends one request and decodes the JSON answer into out, failing on any status
// but want. The error quotes the start of an unexpected body: that is where a
// failing release says why.
func (c *checker) do(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, snippet(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode body: %w: %s", method, path, err, snippet(data))
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
