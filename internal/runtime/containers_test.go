package runtime

import (
	"strings"
	"testing"
	"time"
)

func names(cs []ContainerSpec) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return strings.Join(out, " ")
}

func TestStartOrderFollowsDependsOnThenDefinitionOrder(t *testing.T) {
	cs := []ContainerSpec{
		{Name: "proxy", DependsOn: []Dependency{{"app", ConditionHealthy}}},
		{Name: "app", DependsOn: []Dependency{{"migrate", ConditionSuccess}}},
		{Name: "logs"},
		{Name: "migrate"},
	}
	order, err := StartOrder(cs)
	if err != nil || names(order) != "logs migrate app proxy" {
		t.Fatalf("StartOrder = %q, %v; want logs migrate app proxy", names(order), err)
	}
	cs[2].Essential = true // of the containers free to start, the essential one goes first
	if order, _ := StartOrder(cs); names(order) != "logs migrate app proxy" {
		t.Errorf("StartOrder = %q", names(order))
	}
	cs[3].Essential, cs[2].Essential = true, false
	if order, _ := StartOrder(cs); names(order) != "migrate app proxy logs" {
		t.Errorf("StartOrder with migrate essential = %q, want it first", names(order))
	}
	cs[3].Essential = false
	cs[3].DependsOn = []Dependency{{"proxy", ConditionStart}}
	if _, err := StartOrder(cs); err == nil || !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "proxy, app, migrate") {
		t.Errorf("StartOrder of a cycle = %v, want an error naming the containers in it", err)
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	spec := TaskSpec{ID: "task", TargetContainer: "nope", Containers: []ContainerSpec{
		{Name: "a", DependsOn: []Dependency{{"b", ConditionHealthy}, {"a", ConditionStart}, {"c", "READY"}}},
		{Name: "b", HealthCheck: &HealthCheck{Command: []string{"curl", "x"}}},
		{Name: "c"},
		{Name: "c"},
	}}
	err := spec.Validate()
	for _, want := range []string{
		`container name "c" is empty or used twice`,
		`health check command ["curl" "x"]: want ["CMD", "program", "args"...] or ["CMD-SHELL", "shell command"]`,
		"no essential container",
		`target container "nope"`,
		`container a depends on "a", which is not another container of the task`,
		`condition "READY" (allowed: START, COMPLETE, SUCCESS, HEALTHY)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant it to say %s", err, want)
		}
	}
	spec.Containers[1].HealthCheck = nil
	if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "waits for b to be HEALTHY, which has no health check") {
		t.Errorf("Validate = %v, want HEALTHY without a health check refused", err)
	}
}

func TestConditions(t *testing.T) {
	running := ContainerState{State: TaskRunning}
	exited := func(code int) ContainerState { return ContainerState{State: TaskExited, ExitCode: code} }
	cases := []struct {
		cond    Condition
		st      ContainerState
		met     bool
		failure string
	}{
		{ConditionStart, ContainerState{}, false, ""},
		{ConditionStart, running, true, ""},
		{ConditionComplete, running, false, ""},
		{ConditionComplete, exited(2), true, ""},
		{ConditionSuccess, exited(0), true, ""},
		{ConditionSuccess, exited(2), false, "exited with status 2, not 0"},
		{ConditionHealthy, ContainerState{State: TaskRunning, Health: HealthUnknown}, false, ""},
		{ConditionHealthy, ContainerState{State: TaskRunning, Health: HealthHealthy}, true, ""},
		{ConditionHealthy, ContainerState{State: TaskRunning, Health: HealthUnhealthy}, false, "is UNHEALTHY"},
		{ConditionHealthy, exited(0), false, "exited with status 0 before it was healthy"},
	}
	for _, c := range cases {
		met, err := ConditionMet(c.cond, c.st)
		if met != c.met || (err == nil) != (c.failure == "") || (err != nil && err.Error() != c.failure) {
			t.Errorf("ConditionMet(%s, %+v) = %v, %v; want %v, %q", c.cond, c.st, met, err, c.met, c.failure)
		}
	}
}

func TestOutcomeAndHealthFollowTheEssentialContainers(t *testing.T) {
	hc := &HealthCheck{Command: []string{"CMD", "true"}}
	cs := []ContainerSpec{{Name: "app", Essential: true, HealthCheck: hc}, {Name: "init"}, {Name: "proxy", Essential: true}}
	states := []ContainerState{{Name: "app", State: TaskRunning, Health: HealthHealthy}, {Name: "init", State: TaskExited, ExitCode: 1}, {Name: "proxy", State: TaskRunning}}
	if st, _, _ := Outcome(cs, states); st != TaskRunning || TaskHealth(cs, states) != HealthHealthy {
		t.Errorf("a non-essential container exited: %s %s, want running and HEALTHY", st, TaskHealth(cs, states))
	}
	states[0].Health = HealthUnhealthy
	if h := TaskHealth(cs, states); h != HealthUnhealthy {
		t.Errorf("health with the app UNHEALTHY = %s", h)
	}
	states[2] = ContainerState{Name: "proxy", State: TaskExited, ExitCode: 137, Error: "killed by signal: killed"}
	if st, code, why := Outcome(cs, states); st != TaskExited || code != 137 || why != "essential container proxy exited with status 137 (killed by signal: killed)" {
		t.Errorf("an essential container exited: %s %d %q", st, code, why)
	}
	if h := TaskHealth([]ContainerSpec{{Name: "x", Essential: true}}, nil); h != HealthUnknown {
		t.Errorf("health without checks = %s, want UNKNOWN", h)
	}
}

func TestSingleContainerFormIsOneEssentialContainer(t *testing.T) {
	spec := TaskSpec{ID: "t", Image: "img", Env: []string{"A=1"}, ContainerPort: 8080, StopTimeout: time.Second, ProcessCommand: []string{"./app"}}
	cs := spec.ContainerSpecs()
	if len(cs) != 1 || !cs[0].Essential || cs[0].Ports[0] != 8080 || cs[0].Image != "img" || cs[0].ProcessCommand[0] != "./app" || spec.Target().Name != cs[0].Name {
		t.Errorf("ContainerSpecs = %+v", cs)
	}
}
