package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// heartbeat keeps idle event streams open through proxies.
const heartbeat = 15 * time.Second

// eventStream writes server-sent events.
type eventStream struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	lastWrite time.Time
}

// openStream starts an event stream; write deadlines a server sets for
// ordinary responses do not apply to it.
func openStream(w http.ResponseWriter) *eventStream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.SetWriteDeadline(time.Time{})
	_ = s.rc.Flush()
	return s
}

// send writes one event whose data is v as JSON (one line, so no data line
// ever needs splitting), with an id when id is not "".
func (s *eventStream) send(name, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if id != "" {
		if _, err := fmt.Fprintf(s.w, "id: %s\n", id); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	s.lastWrite = time.Now()
	return s.rc.Flush()
}

// keepAlive writes a comment when nothing was written for a while.
func (s *eventStream) keepAlive() error {
	if time.Since(s.lastWrite) < heartbeat {
		return nil
	}
	if _, err := fmt.Fprint(s.w, ": keep-alive\n\n"); err != nil {
		return err
	}
	s.lastWrite = time.Now()
	return s.rc.Flush()
}

// regionsFunc renders a page's live regions (element id to HTML) as they are
// now; done says nothing will change any more. It may send events of its own
// on s (a log's new text).
type regionsFunc func(ctx context.Context, s *eventStream) (regions map[string]string, done bool, err error)

// streamRegions sends a "patch" event with the regions that changed, every
// period, until the page is done ("end") or the client goes away. The page tells
// which versions it shows (liveURL's "seen"), so the first patch holds only
// what changed since it was rendered.
func (c *Console) streamRegions(w http.ResponseWriter, r *http.Request, every time.Duration, render regionsFunc) {
	sent := map[string]string{}
	for _, v := range r.URL.Query()["seen"] {
		if id, sum, ok := strings.Cut(v, ":"); ok {
			sent[id] = sum
		}
	}
	s := openStream(w)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		regions, done, err := render(r.Context(), s)
		if err != nil {
			if r.Context().Err() == nil {
				c.log.Warn("console live update", "path", r.URL.Path, "err", err)
				_ = s.send("problem", "", err.Error())
			}
		}
		if patch := changed(sent, regions); len(patch) > 0 {
			if s.send("patch", "", patch) != nil {
				return
			}
		}
		if done {
			_ = s.send("end", "", "")
			return
		}
		if s.keepAlive() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		case <-tick.C:
		}
	}
}

// changed returns the regions whose HTML differs from what was sent (by
// version), and remembers them as sent.
func changed(sent, now map[string]string) map[string]string {
	patch := map[string]string{}
	for id, html := range now {
		if v := version(html); sent[id] != v {
			patch[id] = html
			sent[id] = v
		}
	}
	return patch
}

// version names a region's content: a short hash of its HTML.
func version(html string) string {
	sum := sha256.Sum256([]byte(html))
	return hex.EncodeToString(sum[:6])
}

// liveURL is the URL of a page's live updates, telling which versions of its
// regions the page shows.
func liveURL(path string, regions map[string]string) string {
	q := url.Values{}
	for _, id := range slices.Sorted(maps.Keys(regions)) {
		q.Add("seen", id+":"+version(regions[id]))
	}
	return path + "?" + q.Encode()
}

// htmlOf turns rendered regions into what a page template inserts.
func htmlOf(regions map[string]string) map[string]template.HTML {
	out := make(map[string]template.HTML, len(regions))
	for id, s := range regions {
		out[id] = template.HTML(s) //nolint:gosec // rendered by html/template
	}
	return out
}
