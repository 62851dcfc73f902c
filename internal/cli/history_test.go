package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// servedPipelines answers the two reads of `history` as a server running
// several pipelines does (a Multi); any other verb would panic.
type servedPipelines struct {
	control.Backend
	names []string
	execs []control.ExecutionSummary
}

func (s servedPipelines) ListPipelines(context.Context) ([]control.Pipeline, error) {
	out := make([]control.Pipeline, len(s.names))
	for i, n := range s.names {
		out[i].Name = n
	}
	return out, nil
}

func (s servedPipelines) ListExecutions(_ context.Context, q control.ExecutionQuery) (control.ExecutionPage, error) {
	var page control.ExecutionPage
	for _, ex := range s.execs {
		if q.Pipeline == "" || ex.Pipeline == q.Pipeline {
			page.Executions = append(page.Executions, ex)
		}
	}
	return page, nil
}

// Against a server running several pipelines, every line of `history` says
// which pipeline the execution belongs to; --pipeline lists one of them.
func TestHistoryOfSeveralPipelinesNamesEachExecutionsPipeline(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	b := servedPipelines{names: []string{"orders-service", "billing-service"}, execs: []control.ExecutionSummary{
		{ID: "c1548531-5198-41c8-9cc0-e89c4aa37a8d", Pipeline: "billing-service", Status: "InProgress", StartedAt: t0},
		{ID: "e40cc17a-e823-4a02-bf08-609c16918879", Pipeline: "orders-service", Status: "Succeeded", StartedAt: t0, EndedAt: t0.Add(time.Minute)},
	}}
	var out bytes.Buffer
	a := &app{stdout: &out}
	if err := a.history(context.Background(), b, control.ExecutionQuery{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "PIPELINE        EXECUTION ") ||
		!strings.HasPrefix(lines[1], "billing-service c1548531-") || !strings.HasPrefix(lines[2], "orders-service  e40cc17a-") {
		t.Errorf("history of two pipelines does not name each line's pipeline:\n%s", out.String())
	}
	out.Reset()
	if err := a.history(context.Background(), b, control.ExecutionQuery{Pipeline: "orders-service"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "EXECUTION ") || strings.Contains(got, "billing") || !strings.Contains(got, "e40cc17a-") {
		t.Errorf("history --pipeline orders-service:\n%s", got)
	}
	out.Reset()
	b.names = b.names[:1]
	if err := a.history(context.Background(), b, control.ExecutionQuery{}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "EXECUTION ") {
		t.Errorf("history of one pipeline shows a pipeline column:\n%s", got)
	}
}
