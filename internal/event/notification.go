package event

import "slices"

// Notification event type ids greenlight adds to CodeStar Notifications' own, for
// what CodeDeploy has no id for. A deployment's start, success and failure keep
// CodeDeploy's ids (codedeploy-application-deployment-started|succeeded|failed), so
// that a rule written for AWS means the same here.
const (
	// Production traffic moved between the original and the replacement (each step
	// of a canary or linear shift, and a rollback's return to the original).
	NotifyDeploymentTrafficShifted = "greenlight-deployment-traffic-shifted"
	// A deployment stopped and is being rolled back to the original revision.
	NotifyDeploymentRolledBack = "greenlight-deployment-rolled-back"
	// An alarm watched by a deployment changed state (OK, ALARM, INSUFFICIENT_DATA).
	NotifyAlarmStateChanged = "greenlight-alarm-state-changed"
)

// codePipelineStates lists, per CodeStar Notifications' "Events for notification
// rules on pipelines" (docs.aws.amazon.com/dtconsole/latest/userguide/concepts.html),
// the states each kind of CodePipeline event notifies on.
var codePipelineStates = []struct {
	what   string
	states []string
}{
	{"action-execution", []string{"succeeded", "failed", "canceled", "started"}},
	{"stage-execution", []string{"started", "succeeded", "resumed", "canceled", "failed"}},
	{"pipeline-execution", []string{"failed", "canceled", "started", "resumed", "succeeded", "superseded"}},
	{"manual-approval", []string{"failed", "needed", "succeeded"}},
}

// NotificationEventTypes returns every event type id a notification rule may name:
// CodePipeline's, CodeDeploy's deployment ids and greenlight's, sorted.
func NotificationEventTypes() []string {
	var ids []string
	for _, k := range codePipelineStates {
		for _, s := range k.states {
			ids = append(ids, "codepipeline-pipeline-"+k.what+"-"+s)
		}
	}
	for _, s := range []string{"started", "succeeded", "failed"} {
		ids = append(ids, "codedeploy-application-deployment-"+s)
	}
	ids = append(ids, NotifyDeploymentTrafficShifted, NotifyDeploymentRolledBack, NotifyAlarmStateChanged)
	slices.Sort(ids)
	return ids
}

// knownIDs is NotificationEventTypes as a set, built once; never written after.
var knownIDs = func() map[string]bool {
	m := map[string]bool{}
	for _, id := range NotificationEventTypes() {
		m[id] = true
	}
	return m
}()

// knownID returns id when CodeStar Notifications has it (there is no
// codepipeline-pipeline-action-execution-superseded, for one), "" otherwise.
func knownID(id string) string {
	if knownIDs[id] {
		return id
	}
	return ""
}

// NotificationIDs returns every event type id e notifies under: its CodeStar id
// (NotificationID) and greenlight's. A deployment that fails and rolls back is
// both codedeploy-application-deployment-failed and
// greenlight-deployment-rolled-back.
func (e Event) NotificationIDs() []string {
	var ids []string
	if id := e.NotificationID(); id != "" {
		ids = append(ids, id)
	}
	switch {
	case e.Kind == KindTraffic && e.Name == "production":
		ids = append(ids, NotifyDeploymentTrafficShifted)
	case e.Kind == KindDeployment && e.Data["rolled_back_by"] != nil && e.Data["rolled_back_by"] != "":
		ids = append(ids, NotifyDeploymentRolledBack)
	case e.Kind == KindAlarm:
		ids = append(ids, NotifyAlarmStateChanged)
	}
	return ids
}
