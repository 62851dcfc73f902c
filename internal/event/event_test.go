package event

import (
	"slices"
	"testing"
)

func TestNotificationIDsFollowCodeStarNotifications(t *testing.T) {
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: KindExecution, Status: "InProgress"}, "codepipeline-pipeline-pipeline-execution-started"},
		{Event{Kind: KindExecution, Status: "Succeeded"}, "codepipeline-pipeline-pipeline-execution-succeeded"},
		{Event{Kind: KindExecution, Status: "Failed"}, "codepipeline-pipeline-pipeline-execution-failed"},
		{Event{Kind: KindExecution, Status: "Superseded"}, "codepipeline-pipeline-pipeline-execution-superseded"},
		{Event{Kind: KindStage, Status: "Stopped"}, "codepipeline-pipeline-stage-execution-canceled"},
		{Event{Kind: KindAction, Status: "Failed"}, "codepipeline-pipeline-action-execution-failed"},
		{Event{Kind: KindApproval, Status: "Needed"}, "codepipeline-pipeline-manual-approval-needed"},
		{Event{Kind: KindApproval, Status: "Approved"}, "codepipeline-pipeline-manual-approval-succeeded"},
		{Event{Kind: KindDeployment, Status: "InProgress"}, "codedeploy-application-deployment-started"},
		{Event{Kind: KindDeployment, Status: "Stopped"}, "codedeploy-application-deployment-failed"},
		{Event{Kind: KindDeployment, Status: "Baking"}, ""},
		{Event{Kind: KindExecution, Status: "Stopping"}, ""},
	} {
		if got := c.e.NotificationID(); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.e.Kind, c.e.Status, got, c.want)
		}
	}
}

func TestFanoutAndRecorder(t *testing.T) {
	var a, b Recorder
	Fanout{&a, &b, Discard}.Emit(Event{Kind: KindLog, Message: "x"})
	if len(a.Events()) != 1 || len(b.Events()) != 1 || a.Events()[0].Message != "x" {
		t.Fatalf("a %v b %v", a.Events(), b.Events())
	}
}

func TestNotificationIDsAddGreenlightsOwn(t *testing.T) {
	for _, c := range []struct {
		e    Event
		want []string
	}{
		{Event{Kind: KindTraffic, Name: "production"}, []string{NotifyDeploymentTrafficShifted}},
		{Event{Kind: KindTraffic, Name: "test"}, nil},
		{Event{Kind: KindAlarm, Status: "ALARM"}, []string{NotifyAlarmStateChanged}},
		{Event{Kind: KindDeployment, Status: "Stopped", Data: map[string]any{"rolled_back_by": "d-2"}},
			[]string{"codedeploy-application-deployment-failed", NotifyDeploymentRolledBack}},
		{Event{Kind: KindDeployment, Status: "Failed"}, []string{"codedeploy-application-deployment-failed"}},
		{Event{Kind: KindExecution, Status: "Succeeded"}, []string{"codepipeline-pipeline-pipeline-execution-succeeded"}},
		{Event{Kind: KindLog}, nil},
	} {
		if got := c.e.NotificationIDs(); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %q, want %q", c.e.Kind, c.e.Status, got, c.want)
		}
	}
}

// Every id an event can carry is one a notification rule may name.
func TestNotificationEventTypesCoverEveryEmittedID(t *testing.T) {
	known := NotificationEventTypes()
	if len(known) != 24 { // 4+5+6+3 CodePipeline, 3 CodeDeploy, 3 greenlight
		t.Fatalf("%d ids: %q", len(known), known)
	}
	kinds := []Kind{KindExecution, KindStage, KindAction, KindApproval, KindDeployment, KindTraffic, KindAlarm}
	statuses := []string{"InProgress", "Started", "Succeeded", "Failed", "Canceled", "Stopped", "Superseded", "Resumed", "Needed", "Approved", "Rejected", "ALARM"}
	for _, k := range kinds {
		for _, s := range statuses {
			e := Event{Kind: k, Status: s, Name: "production", Data: map[string]any{"rolled_back_by": "x"}}
			for _, id := range e.NotificationIDs() {
				if !slices.Contains(known, id) {
					t.Errorf("%s %s notifies as %q, which is not in NotificationEventTypes", k, s, id)
				}
			}
		}
	}
}
