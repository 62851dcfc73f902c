// Package loadgen keeps HTTP requests going to a URL from several clients until
// stopped, and counts what came back: the load behind every zero-failed-requests
// test and benchmark. A request fails when it gets no response or a status other
// than 200.
package loadgen

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape the load.
type Options struct {
	Workers int // concurrent clients; default 4
	// NewConnections makes every other client open a new connection per request;
	// the rest reuse keep-alive connections.
	NewConnections bool
	// Bodies keeps a count of each distinct response body (which revision answered).
	Bodies bool
	Pause  time.Duration // between a client's requests; default none
}

// Load is requests in flight until Stop.
type Load struct {
	total, failed atomic.Int64
	mu            sync.Mutex
	statuses      map[int]int
	bodies        map[string]int
	errors        []string
	firstFailure  time.Time
	lastFailure   time.Time
	done          chan struct{}
	wg            sync.WaitGroup
}

// Start sends GET url from opts.Workers clients until Stop.
func Start(url string, opts Options) *Load {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	l := &Load{statuses: map[int]int{}, bodies: map[string]int{}, done: make(chan struct{})}
	for i := range opts.Workers {
		l.wg.Add(1)
		newConns := opts.NewConnections && i%2 == 1
		go l.client(url, newConns, opts)
	}
	return l
}

func (l *Load) client(url string, newConns bool, opts Options) {
	defer l.wg.Done()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: newConns, MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	for {
		select {
		case <-l.done:
			return
		case <-time.After(opts.Pause):
		}
		status, body, err := get(client, url, opts.Bodies)
		l.record(status, body, err, opts.Bodies)
	}
}

func get(client *http.Client, url string, keepBody bool) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if !keepBody {
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, "", err
	}
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (l *Load) record(status int, body string, err error, keepBody bool) {
	l.total.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.errors = append(l.errors, err.Error())
	} else {
		l.statuses[status]++
		if keepBody {
			l.bodies[body]++
		}
	}
	if err != nil || status != http.StatusOK {
		l.failed.Add(1)
		l.lastFailure = time.Now()
		if l.firstFailure.IsZero() {
			l.firstFailure = l.lastFailure
		}
	}
}

// Stop ends the load and waits for the requests in flight.
func (l *Load) Stop() {
	close(l.done)
	l.wg.Wait()
}

// Reset starts the counts over (the load goes on).
func (l *Load) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total.Store(0)
	l.failed.Store(0)
	l.statuses, l.bodies, l.errors, l.firstFailure, l.lastFailure = map[int]int{}, map[string]int{}, nil, time.Time{}, time.Time{}
}

// Total is how many requests were sent so far.
func (l *Load) Total() int64 { return l.total.Load() }

// Failed is how many of them failed.
func (l *Load) Failed() int64 { return l.failed.Load() }

// Bodies returns how often each response body came back (Options.Bodies).
func (l *Load) Bodies() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.bodies))
	for k, v := range l.bodies {
		out[k] = v
	}
	return out
}

// Statuses returns how often each response status came back.
func (l *Load) Statuses() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.statuses)
}

// FirstFailure is when the first failed request ended (zero when none failed).
func (l *Load) FirstFailure() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstFailure
}

// LastFailure is when the last failed request ended (zero when none failed).
func (l *Load) LastFailure() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastFailure
}

func (l *Load) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.errors
	if len(errs) > 3 {
		errs = errs[:3]
	}
	return fmt.Sprintf("%d requests, %d failed, statuses %v, %d errors %v", l.total.Load(), l.failed.Load(), l.statuses, len(l.errors), errs)
}

// Errors returns the errors of the requests that got no response, in order.
func (l *Load) Errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errors...)
}
