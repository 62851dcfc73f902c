package event

import "testing"

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
