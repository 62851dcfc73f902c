package runtime

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// singleContainer names the container of a TaskSpec in its single-container form.
const singleContainer = "main"

// ContainerSpecs returns the task's containers: Containers, or the one the
// single-container fields describe (essential, named "main").
func (s TaskSpec) ContainerSpecs() []ContainerSpec {
	if len(s.Containers) > 0 {
		return s.Containers
	}
	c := ContainerSpec{
		Name: singleContainer, Image: s.Image, EntryPoint: s.EntryPoint, Command: s.Command, Env: s.Env,
		User: s.User, WorkingDir: s.WorkingDir, Essential: true, StopTimeout: s.StopTimeout, ProcessCommand: s.ProcessCommand,
	}
	if s.ContainerPort > 0 {
		c.Ports = []int{s.ContainerPort}
	}
	return []ContainerSpec{c}
}

// Target returns the container whose ContainerPort the task's Address reaches:
// TargetContainer, else the first with a port, else the first.
func (s TaskSpec) Target() ContainerSpec {
	cs := s.ContainerSpecs()
	if i := slices.IndexFunc(cs, func(c ContainerSpec) bool { return c.Name == s.TargetContainer }); i >= 0 {
		return cs[i]
	}
	if i := slices.IndexFunc(cs, func(c ContainerSpec) bool { return len(c.Ports) > 0 }); i >= 0 {
		return cs[i]
	}
	return cs[0]
}

// TargetPort is the port the task's Address reaches: ContainerPort, else the
// target container's first port; 0 when it has none.
func (s TaskSpec) TargetPort() int {
	if s.ContainerPort > 0 {
		return s.ContainerPort
	}
	if t := s.Target(); len(t.Ports) > 0 {
		return t.Ports[0]
	}
	return 0
}

// Validate checks what every driver needs of a spec: a valid ID, containers
// with unique names, at least one essential, known dependencies without a
// cycle, a health check behind every HEALTHY condition, and a known target.
func (s TaskSpec) Validate() error {
	if err := ValidateID(s.ID); err != nil {
		return err
	}
	cs := s.ContainerSpecs()
	var errs []error
	seen := map[string]ContainerSpec{}
	for _, c := range cs {
		if c.Name == "" || seen[c.Name].Name != "" {
			errs = append(errs, fmt.Errorf("container name %q is empty or used twice", c.Name))
		}
		seen[c.Name] = c
		if c.HealthCheck != nil {
			if _, err := HealthArgv(c.HealthCheck.Command); err != nil {
				errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
			}
		}
	}
	if !slices.ContainsFunc(cs, func(c ContainerSpec) bool { return c.Essential }) {
		errs = append(errs, errors.New("no essential container: a task needs at least one"))
	}
	if s.TargetContainer != "" && seen[s.TargetContainer].Name == "" {
		errs = append(errs, fmt.Errorf("target container %q is not a container of the task", s.TargetContainer))
	}
	errs = append(errs, dependencyErrors(cs, seen)...)
	if _, err := StartOrder(cs); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func dependencyErrors(cs []ContainerSpec, byName map[string]ContainerSpec) []error {
	var errs []error
	for _, c := range cs {
		for _, d := range c.DependsOn {
			dep, ok := byName[d.Container]
			switch {
			case !ok || d.Container == c.Name:
				errs = append(errs, fmt.Errorf("container %s depends on %q, which is not another container of the task", c.Name, d.Container))
			case !slices.Contains([]Condition{ConditionStart, ConditionComplete, ConditionSuccess, ConditionHealthy}, d.Condition):
				errs = append(errs, fmt.Errorf("container %s: condition %q (allowed: START, COMPLETE, SUCCESS, HEALTHY)", c.Name, d.Condition))
			case d.Condition == ConditionHealthy && dep.HealthCheck == nil:
				errs = append(errs, fmt.Errorf("container %s waits for %s to be HEALTHY, which has no health check", c.Name, d.Container))
			}
		}
	}
	return errs
}

// StartOrder returns the containers in the order they start: each after the
// containers it depends on; of those free to start, essential ones first (the
// first container holds the task's network under Docker: it had better last),
// otherwise in definition order.
func StartOrder(cs []ContainerSpec) ([]ContainerSpec, error) {
	started := map[string]bool{}
	ready := func(c ContainerSpec) bool {
		return !started[c.Name] && !slices.ContainsFunc(c.DependsOn, func(d Dependency) bool { return !started[d.Container] })
	}
	var order []ContainerSpec
	for len(order) < len(cs) {
		i := slices.IndexFunc(cs, func(c ContainerSpec) bool { return ready(c) && c.Essential })
		if i < 0 {
			i = slices.IndexFunc(cs, ready)
		}
		if i < 0 {
			return nil, fmt.Errorf("dependsOn has a cycle or names an unknown container among %s", strings.Join(pendingNames(cs, started), ", "))
		}
		started[cs[i].Name] = true
		order = append(order, cs[i])
	}
	return order, nil
}

func pendingNames(cs []ContainerSpec, started map[string]bool) []string {
	var names []string
	for _, c := range cs {
		if !started[c.Name] {
			names = append(names, c.Name)
		}
	}
	return names
}

// ConditionMet reports whether a dependency in state st meets cond; an error
// means it never will (it exited, failed or turned unhealthy).
func ConditionMet(cond Condition, st ContainerState) (bool, error) {
	exited := st.State == TaskExited
	switch cond {
	case ConditionStart:
		return st.State != "", nil
	case ConditionComplete:
		return exited, nil
	case ConditionSuccess:
		if exited && st.ExitCode != 0 {
			return false, fmt.Errorf("exited with status %d, not 0%s", st.ExitCode, suffix(st.Error))
		}
		return exited, nil
	case ConditionHealthy:
		switch {
		case st.Health == HealthHealthy:
			return true, nil
		case st.Health == HealthUnhealthy:
			return false, errors.New("is UNHEALTHY")
		case exited:
			return false, fmt.Errorf("exited with status %d before it was healthy%s", st.ExitCode, suffix(st.Error))
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// Outcome derives the task's state from its containers': exited as soon as an
// essential container has exited, with its exit code and why; running
// otherwise. A single container's own exit code and reason are the task's.
func Outcome(cs []ContainerSpec, states []ContainerState) (state TaskState, exitCode int, reason string) {
	byName := map[string]ContainerState{}
	for _, st := range states {
		byName[st.Name] = st
	}
	for _, c := range cs {
		st := byName[c.Name]
		if !c.Essential || st.State != TaskExited {
			continue
		}
		if len(cs) == 1 {
			return TaskExited, st.ExitCode, st.Error
		}
		return TaskExited, st.ExitCode, fmt.Sprintf("essential container %s exited with status %d%s", c.Name, st.ExitCode, suffix(st.Error))
	}
	return TaskRunning, 0, ""
}

// TaskHealth combines the containers' health as ECS does: UNHEALTHY when an
// essential container is, HEALTHY when every essential container with a health
// check is, UNKNOWN otherwise.
func TaskHealth(cs []ContainerSpec, states []ContainerState) Health {
	byName := map[string]Health{}
	for _, st := range states {
		byName[st.Name] = st.Health
	}
	checked, unknown := false, false
	for _, c := range cs {
		if !c.Essential || c.HealthCheck == nil {
			continue
		}
		checked = true
		switch byName[c.Name] {
		case HealthUnhealthy:
			return HealthUnhealthy
		case HealthHealthy:
		default:
			unknown = true
		}
	}
	if !checked || unknown {
		return HealthUnknown
	}
	return HealthHealthy
}

// HealthArgv turns a health check command into the argv to run: CMD runs its
// arguments, CMD-SHELL its one string under /bin/sh -c.
func HealthArgv(cmd []string) ([]string, error) {
	switch {
	case len(cmd) >= 2 && cmd[0] == "CMD":
		return cmd[1:], nil
	case len(cmd) == 2 && cmd[0] == "CMD-SHELL":
		return []string{"/bin/sh", "-c", cmd[1]}, nil
	}
	return nil, fmt.Errorf(`health check command %q: want ["CMD", "program", "args"...] or ["CMD-SHELL", "shell command"]`, cmd)
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}
