package notify

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Match is one delivery an event asks for: a rule's target.
type Match struct {
	Rule        string
	DetailType  string
	EventType   string
	TargetIndex int
	Target      manifest.NotificationTarget
}

// RuleSet is one definition's notification rules and what they watch. A rule
// belongs to its definition: it matches the events of that definition's pipeline
// and of its deployment groups (deployments, traffic shifts and alarms), never
// another definition's. A set with no Pipeline watches every event: the rules of
// a notifier that serves one definition.
type RuleSet struct {
	Pipeline string   // events carrying this pipeline name
	Groups   []string // deployment events of these "application/group"
	Rules    []*manifest.NotificationRule
	Secrets  Secrets // reads the targets' secrets (nil: Options.Secrets)
}

// RuleSetOf is def's rule set: its pipeline, its deployment groups and its
// rules, with secrets reading its targets' secrets.
func RuleSetOf(def *manifest.Definition, secrets Secrets) RuleSet {
	s := RuleSet{Pipeline: def.Pipeline.Name, Rules: def.Notifications, Secrets: secrets}
	for appName, app := range def.Applications {
		for groupName := range app.DeploymentGroups {
			s.Groups = append(s.Groups, appName+"/"+groupName)
		}
	}
	slices.Sort(s.Groups)
	return s
}

// Owns reports whether e is the set's to notify: an event of its pipeline, or,
// for an event of no pipeline, one of its deployment groups'. An event that
// names neither belongs to no definition.
func (s RuleSet) Owns(e event.Event) bool {
	switch {
	case s.Pipeline == "":
		return true
	case e.Pipeline != "":
		return e.Pipeline == s.Pipeline
	case e.Group != "":
		return slices.Contains(s.Groups, e.Group)
	}
	return false
}

// target returns the set's rule's target the delivery names, as the definition
// has it now (with its positions), when it is still the target queued.
func (s RuleSet) target(d Delivery) (*manifest.NotificationTarget, bool) {
	for _, r := range s.Rules {
		if r.Name != d.Rule || d.TargetIndex < 0 || d.TargetIndex >= len(r.Targets) {
			continue
		}
		t := r.Targets[d.TargetIndex]
		return t, sameTarget(t, &d.Target)
	}
	return nil, false
}

// sameTarget compares targets as the queue keeps them (positions aside).
func sameTarget(a, b *manifest.NotificationTarget) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// Matches returns the deliveries an event asks for: each target of each enabled
// rule naming one of the event's ids, and, for an approval that is needed, the
// Manual action's NotificationArn (CodePipeline publishes the approval request
// to that topic, whatever the rules say).
func Matches(rules []*manifest.NotificationRule, e event.Event) []Match {
	var out []Match
	ids := e.NotificationIDs()
	for _, r := range rules {
		id := firstIn(ids, r.EventTypeIDs)
		if !r.Enabled() || id == "" {
			continue
		}
		for i, t := range r.Targets {
			out = append(out, Match{Rule: r.Name, DetailType: r.DetailType, EventType: id, TargetIndex: i, Target: *t})
		}
	}
	if arn, _ := e.Data["notification_arn"].(string); arn != "" && e.Kind == event.KindApproval && e.Status == "Needed" {
		out = append(out, Match{
			Rule: "NotificationArn of " + e.Stage + "/" + e.Action, DetailType: manifest.DetailFull,
			EventType: e.NotificationID(), Target: manifest.NotificationTarget{Type: manifest.TargetSNS, SNS: &manifest.SNSTarget{ARN: arn}},
		})
	}
	return out
}

func firstIn(ids, wanted []string) string {
	for _, id := range ids {
		if slices.Contains(wanted, id) {
			return id
		}
	}
	return ""
}
