package aws

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
)

// DefaultRefresh is how long the backend answers Events from what it observed
// before it reads AWS again: followers poll every 100 ms, AWS's read APIs allow
// a few calls a second per account.
const DefaultRefresh = 2 * time.Second

// Events derives events from the state of what q selects — an execution (and
// the deployments its actions created), deployments, or without either the
// latest execution and the alarms' state changes — and returns those q selects.
// AWS keeps no event log the CLI can read: an event is numbered the first time
// this backend observes it, so AfterSeq follows what this backend has seen.
func (b *Backend) Events(ctx context.Context, q event.Query) ([]event.Event, error) {
	key := q.ExecutionID + "|" + strings.Join(q.DeploymentIDs, ",")
	if b.events.stale(key, b.opts.Now(), b.refresh()) {
		evs, err := b.derive(ctx, q)
		if err != nil {
			return nil, err
		}
		b.events.observe(key, b.opts.Now(), evs)
	}
	return b.events.query(q), nil
}

func (b *Backend) refresh() time.Duration { return cmp.Or(b.opts.Refresh, DefaultRefresh) }

func (b *Backend) derive(ctx context.Context, q event.Query) ([]event.Event, error) {
	var evs []event.Event
	id := q.ExecutionID
	if id == "" && len(q.DeploymentIDs) == 0 {
		latest, alarms, err := b.latestAndAlarms(ctx)
		if err != nil {
			return nil, err
		}
		id, evs = latest, alarms
	}
	if id != "" {
		got, err := b.executionEvents(ctx, id)
		if err != nil {
			return nil, err
		}
		evs = append(evs, got...)
	}
	for _, d := range q.DeploymentIDs {
		got, err := b.deploymentEvents(ctx, d, "")
		if err != nil {
			return nil, err
		}
		evs = append(evs, got...)
	}
	return evs, nil
}

// executionEvents are an execution's state changes, and its deployments'.
func (b *Backend) executionEvents(ctx context.Context, id string) ([]event.Event, error) {
	v, err := b.GetExecution(ctx, id)
	if err != nil {
		return nil, err
	}
	evs := executionChanges(v)
	for _, st := range v.Stages {
		for _, a := range st.Actions {
			if d, ok := a.Data["deployment_id"].(string); ok && d != "" {
				got, err := b.deploymentEvents(ctx, d, id)
				if err != nil {
					return nil, err
				}
				evs = append(evs, got...)
			}
		}
	}
	return evs, nil
}

// executionChanges are the events an execution's state shows happened.
func executionChanges(v *control.Execution) []event.Event {
	base := event.Event{Pipeline: v.Pipeline, ExecutionID: v.ID}
	at := func(t time.Time, kind event.Kind, status string, msg string) event.Event {
		e := base
		e.Time, e.Kind, e.Status, e.Message = t, kind, status, msg
		return e
	}
	var evs []event.Event
	if !v.StartedAt.IsZero() {
		evs = append(evs, at(v.StartedAt, event.KindExecution, string(control.StatusInProgress), ""))
	}
	for _, st := range v.Stages {
		evs = append(evs, stageChanges(st, at)...)
	}
	if v.Status.Final() {
		evs = append(evs, at(v.EndedAt, event.KindExecution, string(v.Status), v.StatusSummary))
	}
	return evs
}

type eventAt func(t time.Time, kind event.Kind, status, msg string) event.Event

func stageChanges(st control.Stage, at eventAt) []event.Event {
	if st.Status == "" {
		return nil
	}
	named := func(e event.Event, action string) event.Event {
		e.Stage, e.Action = st.Name, action
		return e
	}
	evs := []event.Event{named(at(st.StartedAt, event.KindStage, string(control.StatusInProgress), ""), "")}
	for _, a := range st.Actions {
		for _, e := range actionChanges(a, at) {
			evs = append(evs, named(e, a.Name))
		}
	}
	if st.Status != control.StatusInProgress {
		evs = append(evs, named(at(st.EndedAt, event.KindStage, string(st.Status), st.Message), ""))
	}
	return evs
}

// actionChanges are every attempt's start and end, and an approval's request
// and decision.
func actionChanges(a control.Action, at eventAt) []event.Event {
	var evs []event.Event
	data := map[string]any{"category": a.Category, "provider": a.Provider}
	add := func(e event.Event, attempt int) {
		e.Data = map[string]any{"category": data["category"], "provider": data["provider"], "attempt": attempt}
		evs = append(evs, e)
	}
	for _, p := range a.Attempts {
		add(at(p.StartedAt, event.KindAction, string(control.StatusInProgress), ""), p.Attempt)
		add(at(p.EndedAt, event.KindAction, string(p.Status), p.ErrorMessage), p.Attempt)
	}
	if a.Status == "" {
		return evs
	}
	add(at(a.StartedAt, event.KindAction, string(control.StatusInProgress), ""), a.Attempt)
	if ap := a.Approval; ap != nil {
		add(at(ap.RequestedAt, event.KindApproval, string(control.ApprovalNeeded), ap.CustomData), a.Attempt)
		if ap.Status != control.ApprovalNeeded {
			add(at(ap.DecidedAt, event.KindApproval, string(ap.Status), ap.Summary), a.Attempt)
		}
	}
	if a.Status != control.StatusInProgress {
		add(at(a.EndedAt, event.KindAction, string(a.Status), cmp.Or(a.ErrorMessage, a.Summary)), a.Attempt)
	}
	return evs
}

// deploymentEvents are a deployment's state changes: its start, each lifecycle
// event, production traffic on the replacement, waits and its end.
func (b *Backend) deploymentEvents(ctx context.Context, id, execution string) ([]event.Event, error) {
	d, err := b.GetDeployment(ctx, id)
	if err != nil {
		return nil, err
	}
	return deploymentChanges(d, execution, b.opts.Now()), nil
}

func deploymentChanges(d *control.Deployment, execution string, now time.Time) []event.Event {
	at := func(t time.Time, kind event.Kind, status, name, msg string) event.Event {
		return event.Event{Time: t, Kind: kind, Status: status, Name: name, Message: msg, ExecutionID: execution,
			DeploymentID: d.ID, Group: d.Application + "/" + d.Group}
	}
	evs := []event.Event{at(d.Created, event.KindDeployment, string(control.StatusInProgress), "", d.Revision.Image)}
	for _, st := range d.Steps {
		if !st.Start.IsZero() {
			evs = append(evs, at(st.Start, event.KindLifecycle, string(st.Status), string(st.Name), ""))
			evs[len(evs)-1].Status = "InProgress"
		}
		if !st.End.IsZero() {
			evs = append(evs, at(st.End, event.KindLifecycle, string(st.Status), string(st.Name), st.Message))
		}
	}
	if d.ReplacementWeight > 0 && !d.Status.Done() {
		evs = append(evs, at(now, event.KindTraffic, "", "production",
			fmt.Sprintf("production: %d%% replacement, %d%% original", d.ReplacementWeight, 100-d.ReplacementWeight)))
	}
	switch {
	case d.Status == control.DeploymentReady || d.Status == control.DeploymentBaking:
		evs = append(evs, at(now, event.KindDeployment, string(d.Status), "", ""))
	case d.Status.Done():
		e := at(cmp.Or(d.Completed, now), event.KindDeployment, string(d.Status), "", d.ErrorMessage)
		if d.RolledBackBy != "" {
			e.Data = map[string]any{"rolled_back_by": d.RolledBackBy}
		}
		evs = append(evs, e)
	}
	return evs
}

// latestAndAlarms are the latest execution's id and the alarms' last state
// changes.
func (b *Backend) latestAndAlarms(ctx context.Context) (string, []event.Event, error) {
	out, err := b.cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: &b.opts.Pipeline, MaxResults: sdkaws.Int32(1)})
	if err != nil {
		return "", nil, explain("list executions of "+b.opts.Pipeline, err)
	}
	latest := ""
	if len(out.PipelineExecutionSummaries) > 0 {
		latest = sdkaws.ToString(out.PipelineExecutionSummaries[0].PipelineExecutionId)
	}
	var names []string
	for _, g := range b.opts.Groups {
		names = append(names, g.Alarms...)
	}
	if len(names) == 0 {
		return latest, nil, nil
	}
	got, err := b.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: slices.Compact(slices.Sorted(slices.Values(names)))})
	if err != nil {
		return "", nil, explain("describe alarms", err)
	}
	var evs []event.Event
	for _, a := range got.MetricAlarms {
		evs = append(evs, event.Event{Time: sdkaws.ToTime(a.StateUpdatedTimestamp), Kind: event.KindAlarm, Name: sdkaws.ToString(a.AlarmName),
			Status: string(a.StateValue), Message: sdkaws.ToString(a.StateReason)})
	}
	return latest, evs, nil
}

// observer numbers derived events the first time it sees them and keeps them:
// what an event says (kind, ids, name, status, attempt, time) is its identity.
type observer struct {
	mu     sync.Mutex
	seq    int64
	seen   map[string]int // identity -> index in events
	events []event.Event
	read   map[string]time.Time // when each query key last read AWS
}

func newObserver() *observer {
	return &observer{seen: map[string]int{}, read: map[string]time.Time{}}
}

func (o *observer) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq, o.seen, o.events, o.read = 0, map[string]int{}, nil, map[string]time.Time{}
}

// stale reports whether key was last read more than refresh ago.
func (o *observer) stale(key string, now time.Time, refresh time.Duration) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	last, ok := o.read[key]
	return !ok || now.Sub(last) >= refresh
}

// observe numbers the new ones of evs, in the order they happened.
func (o *observer) observe(key string, now time.Time, evs []event.Event) {
	slices.SortStableFunc(evs, func(x, y event.Event) int { return x.Time.Compare(y.Time) })
	o.mu.Lock()
	defer o.mu.Unlock()
	o.read[key] = now
	for _, e := range evs {
		id := identity(e)
		if i, ok := o.seen[id]; ok {
			// A deployment's event seen on its own, then as its execution's.
			o.events[i].ExecutionID = cmp.Or(o.events[i].ExecutionID, e.ExecutionID)
			continue
		}
		o.seen[id] = len(o.events)
		o.seq++
		e.Seq = o.seq
		o.events = append(o.events, e)
	}
}

func identity(e event.Event) string {
	t := e.Time.UnixNano()
	if e.Kind == event.KindTraffic || (e.Kind == event.KindDeployment && !control.DeploymentStatus(e.Status).Done() && e.Status != string(control.StatusInProgress)) {
		t = 0 // observed now: one per weight or status, whenever seen
	}
	execution := e.ExecutionID
	if e.DeploymentID != "" {
		execution = "" // the same whether read with its execution or alone
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%v|%d", e.Kind, execution, e.DeploymentID, e.Stage, e.Action, e.Name, e.Status, e.Data["attempt"], t)
}

// query returns the kept events q selects, in sequence order.
func (o *observer) query(q event.Query) []event.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []event.Event{}
	for _, e := range o.events {
		if e.Seq <= q.AfterSeq || (q.ExecutionID != "" && e.ExecutionID != q.ExecutionID) ||
			(len(q.DeploymentIDs) > 0 && !slices.Contains(q.DeploymentIDs, e.DeploymentID)) ||
			(len(q.Kinds) > 0 && !slices.Contains(q.Kinds, e.Kind)) {
			continue
		}
		out = append(out, e)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out
}
