package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// actionResult is how an action ended for its stage; an empty status means it was
// never started (the execution is stopping).
type actionResult struct {
	status  Status
	message string
}

// attempt is one attempt of an action being run by this process.
type attempt struct {
	stage     *manifest.Stage
	def       *manifest.Action
	row       *ActionRecord
	resumed   bool
	config    map[string]string
	inputs    []Artifact
	source    Revision
	requested string
	// problem is why the action fails before its provider runs (a variable that
	// does not resolve, a missing input artifact).
	problem string
	// lingering: processes of the crashed attempt could not be stopped; they
	// stay recorded.
	lingering bool
}

// runAction runs (or resumes, or skips when already done) one action of the
// current stage attempt and returns how it ended.
func (r *run) runAction(stage *manifest.Stage, def *manifest.Action) (actionResult, error) {
	a, done, err := r.beginAction(stage, def)
	if err != nil || done != nil {
		return deref(done), err
	}
	msg := ""
	if a.resumed {
		if msg, err = r.resume(a); err != nil {
			return actionResult{}, err
		}
	}
	r.e.emit(r.ctx, event.Event{Kind: event.KindAction, Status: string(StatusInProgress), ExecutionID: r.id,
		Stage: stage.Name, Action: def.Name, Message: msg,
		Data: map[string]any{"attempt": a.row.Attempt, "provider": def.Provider, "category": def.Category, "run_order": runOrder(def)}})
	status, out, err := r.invoke(a)
	if err != nil {
		return actionResult{}, err
	}
	return r.finishAction(a, status, out)
}

// resume kills what the attempt's crashed process left running before the
// attempt runs again; an attempt whose old processes cannot be stopped fails
// instead. It returns the message of the resumed action's event.
func (r *run) resume(a *attempt) (string, error) {
	msg := "resumed after a restart"
	did, err := r.e.reapProcesses(r.ctx, a.row.Processes)
	switch {
	case err != nil && r.ctx.Err() != nil:
		return "", fmt.Errorf("action %s/%s: %w: %w", a.stage.Name, a.def.Name, errInterrupted, context.Cause(r.ctx))
	case err != nil:
		a.problem, a.lingering = err.Error(), true
		return msg, nil
	case did != "":
		msg += "; " + did
	}
	a.row.Processes = nil // gone: the new run records its own
	return msg, nil
}

func deref(r *actionResult) actionResult {
	if r == nil {
		return actionResult{}
	}
	return *r
}

// beginAction decides, in one transaction, what to do with the action: start a
// new attempt, resume an InProgress one, or report how it already ended.
func (r *run) beginAction(stage *manifest.Stage, def *manifest.Action) (*attempt, *actionResult, error) {
	var a *attempt
	var done *actionResult
	var abandoned bool
	err := r.e.store.Update(r.ctx, func(t Tx) error {
		a, done, abandoned = nil, nil, false
		ex, err := t.Execution(r.id)
		if err != nil {
			return err
		}
		runs, err := t.ActionRuns(r.id)
		if err != nil {
			return err
		}
		now := r.e.now()
		latest := latestAttempt(runs, stage.Name, def.Name)
		a = &attempt{stage: stage, def: def}
		switch {
		case latest == nil || latest.Status == statusPending:
			if ex.Status != StatusInProgress {
				done = &actionResult{}
				return nil
			}
			n := 1
			if latest != nil {
				n = latest.Attempt
			}
			a.row = &ActionRecord{ExecutionID: r.id, Stage: stage.Name, Action: def.Name, Attempt: n,
				RunOrder: runOrder(def), Provider: def.Provider, Status: StatusInProgress, StartedAt: now,
				LogPath: r.e.logPath(r.id, stage.Name, def.Name)}
			for _, name := range def.OutputArtifacts {
				if err := t.DeleteArtifact(r.id, name); err != nil {
					return err
				}
			}
		case latest.Status == StatusInProgress && ex.StopMode == StopAbandon:
			latest.Status, latest.ErrorMessage, latest.EndedAt = StatusAbandoned, stopSummary(ex), now
			a.row, abandoned = latest, true
			done = &actionResult{status: StatusAbandoned, message: latest.ErrorMessage}
			if err := t.CloseApprovals(r.id, stage.Name, def.Name, latest.Attempt, ApprovalNeeded, ApprovalAbandoned); err != nil {
				return err
			}
			return t.PutActionRun(latest)
		case latest.Status == StatusInProgress:
			a.row, a.resumed = latest, true
		default:
			done = &actionResult{status: latest.Status, message: latest.ErrorMessage}
			return nil
		}
		if err := r.e.prepareInputs(t, ex, runs, a); err != nil {
			return err
		}
		return t.PutActionRun(a.row)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("begin action %s/%s: %w", stage.Name, def.Name, err)
	}
	if abandoned {
		r.e.reapAbandoned(r.ctx, []*ActionRecord{a.row})
		r.e.emit(r.ctx, event.Event{Kind: event.KindAction, Status: string(StatusAbandoned), ExecutionID: r.id,
			Stage: stage.Name, Action: def.Name, Message: done.message})
	}
	return a, done, nil
}

// latestAttempt returns the highest attempt of one action, or nil.
func latestAttempt(runs []*ActionRecord, stage, action string) *ActionRecord {
	var latest *ActionRecord
	for _, run := range runs {
		if run.Stage == stage && run.Action == action && (latest == nil || run.Attempt > latest.Attempt) {
			latest = run
		}
	}
	return latest
}

// prepareInputs resolves the configuration's variables and the input artifacts;
// what cannot be resolved becomes the attempt's problem (it fails, visibly).
func (e *Engine) prepareInputs(t Tx, ex *ExecutionRecord, runs []*ActionRecord, a *attempt) error {
	a.source, a.requested = revisionFrom(ex.SourceRevision), ex.RequestedRevision
	cfg, err := resolveConfig(a.def, e.variableLookup(ex, runs))
	if err != nil {
		a.problem = err.Error()
		return nil
	}
	a.config = cfg
	arts, err := t.Artifacts(ex.ID)
	if err != nil {
		return err
	}
	byName := map[string]*ArtifactRecord{}
	for _, art := range arts {
		byName[art.Name] = art
	}
	for _, name := range a.def.InputArtifacts {
		art, ok := byName[name]
		if !ok {
			a.problem = fmt.Sprintf("input artifact %s was not produced in this execution", name)
			return nil
		}
		a.inputs = append(a.inputs, Artifact{Name: name, Dir: art.Dir})
	}
	return nil
}

// invoke runs the provider for the attempt and classifies how it ended. It
// returns errInterrupted (wrapped) when the process, not the execution, cut it
// short: the attempt then stays InProgress, to be resumed.
func (r *run) invoke(a *attempt) (Status, Outcome, error) {
	if a.problem != "" {
		return StatusFailed, Outcome{Status: Failed, ErrorMessage: a.problem}, nil
	}
	provider, ok := r.e.providers[a.def.Provider]
	if !ok {
		return StatusFailed, Outcome{Status: Failed, ErrorMessage: fmt.Sprintf("no provider %q here (available: %s)",
			a.def.Provider, strings.Join(slices.Sorted(maps.Keys(r.e.providers)), ", "))}, nil
	}
	outputs, err := r.e.prepareOutputs(r.id, a.def, !a.resumed || a.row.ExternalID == "")
	if err != nil {
		return StatusFailed, Outcome{Status: Failed, ErrorMessage: err.Error()}, nil
	}
	logw, closeLog, err := r.e.openLog(r.ctx, a)
	if err != nil {
		return StatusFailed, Outcome{Status: Failed, ErrorMessage: err.Error()}, nil
	}
	defer closeLog()
	timeout := actionTimeout(a.def, provider)
	ctx, cancel := context.WithCancel(r.actions)
	if timeout > 0 {
		ctx, cancel = context.WithDeadline(r.actions, a.row.StartedAt.Add(timeout))
	}
	defer cancel()
	out, err := runProvider(ctx, provider, r.actionRun(a, outputs, logw))
	switch {
	case r.ctx.Err() != nil:
		return "", Outcome{}, fmt.Errorf("action %s/%s: %w: %w", a.stage.Name, a.def.Name, errInterrupted, context.Cause(r.ctx))
	case errors.Is(context.Cause(r.actions), ErrAbandoned) && (err != nil || out.Status != Succeeded):
		return StatusAbandoned, Outcome{ErrorMessage: "abandoned: the execution was stopped"}, nil
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return StatusFailed, Outcome{Status: Failed, ErrorMessage: fmt.Sprintf("action timed out after %s: %v", timeout, err)}, nil
	case err != nil:
		return StatusFailed, Outcome{Status: Failed, ErrorMessage: err.Error()}, nil
	case out.Status == Succeeded:
		return StatusSucceeded, out, nil
	case out.Status == Failed:
		return StatusFailed, out, nil
	default:
		out.ErrorMessage = fmt.Sprintf("provider %s returned status %q (want Succeeded or Failed)", a.def.Provider, out.Status)
		return StatusFailed, out, nil
	}
}

// runProvider turns a provider panic into an action failure instead of a crash of
// every execution in the process.
func runProvider(ctx context.Context, p Provider, a *ActionRun) (out Outcome, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("provider panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return p.Run(ctx, a)
}

// actionTimeout is timeout_in_minutes when set, else the provider's default.
func actionTimeout(def *manifest.Action, p Provider) time.Duration {
	if def.TimeoutInMinutes > 0 {
		return time.Duration(def.TimeoutInMinutes) * time.Minute
	}
	if d, ok := p.(DefaultTimeouter); ok {
		return d.DefaultTimeout()
	}
	return 0
}

func (r *run) actionRun(a *attempt, outputs []Artifact, logw *lockedWriter) *ActionRun {
	stage, action := a.stage.Name, a.def.Name
	return &ActionRun{
		Pipeline: r.e.name(), ExecutionID: r.id, Stage: stage, Action: action, Attempt: a.row.Attempt,
		Def: a.def, Config: a.config, Inputs: a.inputs, Outputs: outputs, Source: a.source,
		RequestedRevision: a.requested, Log: logw, StateDir: r.e.opts.StateDir, DefinitionDir: r.e.def.Dir,
		Logger:             r.log.With("stage", stage, "action", action, "attempt", a.row.Attempt),
		ExternalID:         a.row.ExternalID,
		RecordProcessGroup: (&processRecorder{r: r, a: a}).record,
		Events: event.SinkFunc(func(ev event.Event) {
			ev.ExecutionID, ev.Stage, ev.Action = r.id, stage, action
			r.e.emit(r.ctx, ev)
		}),
		SetExternalID: func(id string) error {
			err := r.e.store.Update(r.ctx, func(t Tx) error {
				return t.SetActionExternalID(r.id, stage, action, a.row.Attempt, id)
			})
			if err != nil {
				return fmt.Errorf("record external id of %s/%s: %w", stage, action, err)
			}
			a.row.ExternalID = id // read after the provider returns
			return nil
		},
	}
}

// finishAction seals the outputs of a successful attempt and records how it ended.
func (r *run) finishAction(a *attempt, status Status, out Outcome) (actionResult, error) {
	now := r.e.now()
	var sealed []*ArtifactRecord
	if status == StatusSucceeded {
		for _, name := range a.def.OutputArtifacts {
			dir := r.e.artifactDir(r.id, name)
			if err := seal(dir); err != nil {
				status, out.ErrorMessage = StatusFailed, fmt.Sprintf("seal output artifact %s: %v", name, err)
				break
			}
			sealed = append(sealed, &ArtifactRecord{ExecutionID: r.id, Name: name, Stage: a.stage.Name,
				Action: a.def.Name, Attempt: a.row.Attempt, Dir: dir, SealedAt: now})
		}
	}
	row := a.row
	row.Status, row.Summary, row.ErrorMessage, row.ExternalURL = status, out.Summary, out.ErrorMessage, out.ExternalURL
	row.OutputVariables, row.Data, row.EndedAt = out.OutputVariables, out.Data, now
	if !a.lingering {
		row.Processes = nil // the provider returned: its processes ended with it
	}
	err := r.e.store.Update(r.ctx, func(t Tx) error {
		if err := t.PutActionRun(row); err != nil {
			return err
		}
		if status != StatusSucceeded {
			return t.CloseApprovals(r.id, a.stage.Name, a.def.Name, row.Attempt, ApprovalNeeded, closedApproval(status))
		}
		for _, art := range sealed {
			if err := t.PutArtifact(art); err != nil {
				return err
			}
		}
		if a.def.Category == manifest.CategorySource {
			return r.recordSourceRevision(t, out.OutputVariables)
		}
		return nil
	})
	if err != nil {
		return actionResult{}, fmt.Errorf("finish action %s/%s: %w", a.stage.Name, a.def.Name, err)
	}
	data := map[string]any{"attempt": row.Attempt}
	if row.ExternalURL != "" {
		data["external_url"] = row.ExternalURL
	}
	if len(row.OutputVariables) > 0 {
		data["output_variables"] = row.OutputVariables
	}
	r.e.emit(r.ctx, event.Event{Kind: event.KindAction, Status: string(status), ExecutionID: r.id, Stage: a.stage.Name,
		Action: a.def.Name, Message: cmp.Or(out.ErrorMessage, out.Summary), Data: data})
	return actionResult{status: status, message: out.ErrorMessage}, nil
}

func closedApproval(s Status) ApprovalStatus {
	if s == StatusAbandoned {
		return ApprovalAbandoned
	}
	return ApprovalFailed
}

// recordSourceRevision keeps the first source action's revision on the execution.
func (r *run) recordSourceRevision(t Tx, vars map[string]string) error {
	ex, err := t.Execution(r.id)
	if err != nil || len(ex.SourceRevision) > 0 || vars["CommitId"] == "" {
		return err
	}
	ex.SourceRevision = revisionMap(Revision{
		CommitID: vars["CommitId"], Branch: vars["BranchName"], Message: vars["CommitMessage"],
		Author: vars["AuthorDisplayName"], Repository: vars["FullRepositoryName"],
	})
	ex.UpdatedAt = r.e.now()
	return t.UpdateExecution(ex)
}

func revisionMap(rev Revision) map[string]string {
	return map[string]string{"commit_id": rev.CommitID, "branch": rev.Branch, "message": rev.Message,
		"author": rev.Author, "repository": rev.Repository}
}

func revisionFrom(m map[string]string) Revision {
	return Revision{CommitID: m["commit_id"], Branch: m["branch"], Message: m["message"], Author: m["author"], Repository: m["repository"]}
}
