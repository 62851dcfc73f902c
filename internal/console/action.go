package console

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// logTail is how much of a log the action page shows at first: the end.
const logTail = 256 << 10

// historyPages bounds how far back the action page looks for the last
// successful execution (pages of 50).
const historyPages = 10

// actionView is what the action page's regions show.
type actionPageView struct {
	Ex       *control.Execution
	Stage    string
	Action   control.Action
	Tests    []testReportView
	Coverage []coverageView
	Baseline string // the execution coverage is compared with ("" for none)
}

type actionData struct {
	actionPageView
	Log     string
	LogCut  bool // earlier output is not shown
	Regions map[string]template.HTML
}

// actionPage shows an action's log, live while it runs, and its reports.
func (c *Console) actionPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbGetExecution) || !c.allow(w, r, access.VerbReadLogs) || !c.allow(w, r, access.VerbReadReports) {
		return
	}
	ref := actionRef(r)
	view, regions, err := c.actionRegions(r.Context(), ref)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	chunk, err := c.opts.Backend.ReadLog(r.Context(), control.LogRequest{ActionRef: ref, Offset: -logTail})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := actionData{actionPageView: view, Log: chunk.Text, LogCut: chunk.Offset > 0, Regions: htmlOf(regions)}
	p := &page{Title: ref.Stage + "/" + ref.Action, Nav: "pipelines", Data: d}
	if chunk.More {
		p.Live = liveURL(actionPath(ref)+"/log", regions) + "&offset=" + strconv.FormatInt(chunk.NextOffset, 10)
	}
	c.render(w, r, http.StatusOK, "action", p)
}

func actionRef(r *http.Request) control.ActionRef {
	return control.ActionRef{ExecutionID: r.PathValue("id"), Stage: r.PathValue("stage"), Action: r.PathValue("action")}
}

func actionPath(ref control.ActionRef) string {
	return "/executions/" + url.PathEscape(ref.ExecutionID) + "/actions/" + url.PathEscape(ref.Stage) + "/" + url.PathEscape(ref.Action)
}

// actionRegions reads an action and its reports and renders the page's live
// regions (its status and reports; the log streams on its own).
func (c *Console) actionRegions(ctx context.Context, ref control.ActionRef) (actionPageView, map[string]string, error) {
	v, err := c.opts.Backend.GetExecution(ctx, ref.ExecutionID)
	if err != nil {
		return actionPageView{}, nil, err
	}
	a := v.Action(ref.Stage, ref.Action)
	if a == nil {
		return actionPageView{}, nil, control.Errorf(control.CodeNotFound, "execution %s has no action %s/%s", ref.ExecutionID, ref.Stage, ref.Action)
	}
	view := actionPageView{Ex: v, Stage: ref.Stage, Action: *a}
	if err := c.addReports(ctx, &view, ref); err != nil {
		return actionPageView{}, nil, err
	}
	regions := map[string]string{}
	for _, name := range []string{"action-summary", "reports"} {
		if regions[name], err = c.pages.fragment("action", name, view); err != nil {
			return actionPageView{}, nil, err
		}
	}
	return view, regions, nil
}

// addReports adds the action's test and coverage reports; coverage is
// compared with the last successful execution before this one.
func (c *Console) addReports(ctx context.Context, view *actionPageView, ref control.ActionRef) error {
	reports, err := c.opts.Backend.Reports(ctx, ref)
	if err != nil {
		return err
	}
	var before []report.Report
	for i, rep := range reports {
		switch {
		case rep.Tests != nil:
			view.Tests = append(view.Tests, testReportViewOf(rep, i))
		case rep.Coverage != nil:
			if before == nil {
				if view.Baseline, before, err = c.baselineReports(ctx, view.Ex, ref); err != nil {
					return err
				}
			}
			view.Coverage = append(view.Coverage, coverageViewOf(rep, matching(before, rep)))
		}
	}
	return nil
}

// baselineReports returns the reports of the same action in the last
// successful execution before v (none: "" and an empty list).
func (c *Console) baselineReports(ctx context.Context, v *control.Execution, ref control.ActionRef) (string, []report.Report, error) {
	id, err := c.lastSuccessBefore(ctx, v)
	if err != nil || id == "" {
		return "", []report.Report{}, err
	}
	ref.ExecutionID = id
	reports, err := c.opts.Backend.Reports(ctx, ref)
	if control.CodeOf(err) == control.CodeNotFound {
		return id, []report.Report{}, nil
	}
	return id, reports, err
}

// lastSuccessBefore finds the newest Succeeded execution older than v.
func (c *Console) lastSuccessBefore(ctx context.Context, v *control.Execution) (string, error) {
	q := control.ExecutionQuery{Pipeline: v.Pipeline, Limit: 50}
	for range historyPages {
		page, err := c.opts.Backend.ListExecutions(ctx, q)
		if err != nil {
			return "", err
		}
		for _, s := range page.Executions {
			if s.Seq < v.Seq && s.Status == control.StatusSucceeded {
				return s.ID, nil
			}
		}
		if page.NextPageToken == "" {
			return "", nil
		}
		q.PageToken = page.NextPageToken
	}
	return "", nil
}

// actionLog streams an action's log from ?offset= ("append" events with the
// text, masked as the backend wrote it) and the page's regions as they change,
// until the log has nothing more to give.
func (c *Console) actionLog(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbReadLogs) || !c.allow(w, r, access.VerbReadReports) {
		return
	}
	ref := actionRef(r)
	offset, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		offset, err = strconv.ParseInt(id, 10, 64) // a reconnect resumes where it stopped
	}
	if err != nil || offset < 0 {
		c.refuse(w, r, http.StatusBadRequest, "Bad request", "offset must be a byte offset into the log (0 or more)")
		return
	}
	tail := &logTailer{c: c, ref: ref, offset: offset}
	c.streamRegions(w, r, c.opts.Poll, tail.next)
}

// logTailer reads a log on from an offset for streamRegions.
type logTailer struct {
	c      *Console
	ref    control.ActionRef
	offset int64
}

func (t *logTailer) next(ctx context.Context, s *eventStream) (map[string]string, bool, error) {
	_, regions, err := t.c.actionRegions(ctx, t.ref)
	if err != nil {
		return nil, control.CodeOf(err) == control.CodeNotFound, err
	}
	more := true
	for more {
		chunk, err := t.c.opts.Backend.ReadLog(ctx, control.LogRequest{ActionRef: t.ref, Offset: t.offset, Limit: 64 << 10})
		if err != nil {
			return regions, false, err
		}
		if chunk.Text != "" {
			if err := s.send("append", strconv.FormatInt(chunk.NextOffset, 10), chunk.Text); err != nil {
				return regions, true, nil
			}
		}
		t.offset = chunk.NextOffset
		if !chunk.More {
			return regions, true, nil
		}
		more = chunk.Text != "" // a full chunk: read on at once
	}
	return regions, false, nil
}
