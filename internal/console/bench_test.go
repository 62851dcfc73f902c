package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/console"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// historySize is how many executions the benchmarks' history holds.
const historySize = 1000

// history is a console over a real state file holding historySize executions
// of the shop pipeline, each through every stage, and a signed-in session.
type history struct {
	handler http.Handler
	cookie  *http.Cookie
	newest  string // the newest execution's id
}

func newHistory(tb testing.TB) *history {
	tb.Helper()
	repo := tb.TempDir()
	for name, content := range shop {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if out, err := exec.Command("git", "-C", repo, "init", "-q", "-b", "main").CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v\n%s", err, out)
	}
	def, err := manifest.Load(filepath.Join(repo, "greenlight.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	stateDir := filepath.Join(repo, ".greenlight")
	db, err := store.Open(context.Background(), filepath.Join(stateDir, "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	h := &history{newest: seedExecutions(tb, db.Pipelines(), def, historySize)}
	svc := &access.Service{Store: store.Access{DB: db}}
	secret, _, err := svc.Create(context.Background(), "bench", access.RoleAdmin, 0)
	if err != nil {
		tb.Fatal(err)
	}
	b := local.New(local.Options{Definition: def, StateDir: stateDir, DB: db, Logger: slog.New(slog.DiscardHandler)})
	tb.Cleanup(func() { _ = b.Close() })
	c, err := console.New(console.Options{Backend: b, Access: svc})
	if err != nil {
		tb.Fatal(err)
	}
	h.handler, h.cookie = c, signInDirect(tb, c, secret)
	return h
}

// seedExecutions records n finished executions, oldest first, through the
// pipeline's store, as the engine would have left them.
func seedExecutions(tb testing.TB, st pipeline.Store, def *manifest.Definition, n int) string {
	tb.Helper()
	start := time.Now().Add(-time.Duration(n) * time.Hour)
	var id string
	err := st.Update(context.Background(), func(tx pipeline.Tx) error {
		for i := range n {
			id = uuid.NewString()
			at := start.Add(time.Duration(i) * time.Hour)
			ex := &pipeline.ExecutionRecord{ID: id, Pipeline: def.Pipeline.Name, Mode: "SUPERSEDED", Status: pipeline.StatusSucceeded,
				Trigger: pipeline.TriggerWebhook, TriggerDetail: "delivery " + fmt.Sprint(i), StageIndex: len(def.Pipeline.Stages) - 1,
				SourceRevision: map[string]string{"commit_id": fmt.Sprintf("%040x", i), "branch": "main", "author": "Ada Lovelace",
					"message": fmt.Sprintf("Change number %d <b>with html</b>\n\nand a body", i)},
				StartedAt: at, UpdatedAt: at.Add(time.Minute), EndedAt: at.Add(time.Minute)}
			if err := tx.InsertExecution(ex); err != nil {
				return err
			}
			if err := seedStages(tx, def, id, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func seedStages(tx pipeline.Tx, def *manifest.Definition, id string, at time.Time) error {
	for si, stage := range def.Pipeline.Stages {
		t := at.Add(time.Duration(si) * 10 * time.Second)
		if err := tx.PutStageRun(&pipeline.StageRecord{ExecutionID: id, Pipeline: def.Pipeline.Name, Stage: stage.Name, Index: si,
			Attempt: 1, Status: pipeline.StatusSucceeded, StartedAt: t, EndedAt: t.Add(9 * time.Second)}); err != nil {
			return err
		}
		for _, a := range stage.Actions {
			if err := tx.PutActionRun(&pipeline.ActionRecord{ExecutionID: id, Stage: stage.Name, Action: a.Name, Attempt: 1,
				RunOrder: 1, Provider: a.Provider, Status: pipeline.StatusSucceeded, Summary: "done", StartedAt: t,
				EndedAt: t.Add(8 * time.Second), OutputVariables: map[string]string{"CommitId": fmt.Sprintf("%040x", si)}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// signInDirect signs in through the handler and returns the session cookie.
func signInDirect(tb testing.TB, h http.Handler, token string) *http.Cookie {
	tb.Helper()
	page := serve(h, httptest.NewRequest(http.MethodGet, "/login", nil))
	form := url.Values{"token": {token}, "csrf": {csrfField.FindStringSubmatch(page.Body.String())[1]}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range page.Result().Cookies() {
		req.AddCookie(c)
	}
	resp := serve(h, req)
	for _, c := range resp.Result().Cookies() {
		if c.Name == "greenlight-session" {
			return c
		}
	}
	tb.Fatalf("sign in: %d", resp.Code)
	return nil
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// get renders a page in the handler (no network: the server's time only).
func (h *history) get(tb testing.TB, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(h.cookie)
	rec := serve(h.handler, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body)
	}
	return rec
}

// BenchmarkPages renders each page with 1,000 executions in the history;
// page-bytes is the HTML with its CSS and JavaScript (there are no images).
func BenchmarkPages(b *testing.B) {
	h := newHistory(b)
	for _, page := range []struct{ name, path string }{
		{"pipelines", "/"},
		{"history", "/pipelines/shop"},
		{"execution", "/executions/" + h.newest},
		{"action", "/executions/" + h.newest + "/actions/Build/Build"},
		{"approval", "/executions/" + h.newest + "/approvals/Approval/Review"},
	} {
		b.Run(page.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				size = h.get(b, page.path).Body.Len()
			}
			b.ReportMetric(float64(size+staticBytes(b, h)), "page-bytes")
		})
	}
}

// staticBytes is the size of the stylesheet and the script every page loads.
func staticBytes(tb testing.TB, h *history) int {
	n := 0
	for _, path := range []string{"/static/console.css", "/static/console.js"} {
		body, _ := io.ReadAll(h.get(tb, path).Body)
		n += len(body)
	}
	return n
}

// TestPageWeight keeps every page, with its stylesheet and script, under
// 100 KB with 1,000 executions in the history.
func TestPageWeight(t *testing.T) {
	h := newHistory(t)
	static := staticBytes(t, h)
	for _, path := range []string{"/", "/pipelines/shop", "/executions/" + h.newest, "/deployments", "/audit"} {
		if size := h.get(t, path).Body.Len() + static; size > 100<<10 {
			t.Errorf("GET %s weighs %d bytes with its CSS and JavaScript, more than 100 KB", path, size)
		}
	}
}
