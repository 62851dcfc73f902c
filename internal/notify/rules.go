package notify

import (
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
