package runtime

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// ContainerRunner is what Launch needs of a driver for one task: starting one
// of its containers, and the states of those started so far.
type ContainerRunner interface {
	StartContainer(ctx context.Context, c ContainerSpec) error
	ContainerStates(ctx context.Context) ([]ContainerState, error)
}

// Launch starts the task's containers in StartOrder. Before each it waits until
// every container it depends on meets its condition, giving up after that
// container's StartTimeout; an essential container that exits meanwhile ends
// the launch too. It returns the first error: the caller stops what started.
func Launch(ctx context.Context, spec TaskSpec, r ContainerRunner, poll time.Duration) error {
	cs := spec.ContainerSpecs()
	order, err := StartOrder(cs)
	if err != nil {
		return err
	}
	byName := map[string]ContainerSpec{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	for _, c := range order {
		if err := awaitDependencies(ctx, cs, c, byName, r, poll); err != nil {
			return err
		}
		if err := r.StartContainer(ctx, c); err != nil {
			return fmt.Errorf("start container %s: %w", c.Name, err)
		}
	}
	return nil
}

func awaitDependencies(ctx context.Context, cs []ContainerSpec, c ContainerSpec, byName map[string]ContainerSpec, r ContainerRunner, poll time.Duration) error {
	since := time.Now()
	for len(c.DependsOn) > 0 {
		states, err := r.ContainerStates(ctx)
		if err != nil {
			return err
		}
		if state, _, reason := Outcome(cs, states); state == TaskExited {
			return fmt.Errorf("container %s never started: %s", c.Name, reason)
		}
		waiting, err := unmetDependency(c, byName, states, since)
		if err != nil || !waiting {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
	return nil
}

// unmetDependency reports whether c still waits for a dependency; an error when
// one can never be met or its StartTimeout has passed since.
func unmetDependency(c ContainerSpec, byName map[string]ContainerSpec, states []ContainerState, since time.Time) (bool, error) {
	for _, d := range c.DependsOn {
		met, err := ConditionMet(d.Condition, stateOf(states, d.Container))
		if err != nil {
			return false, fmt.Errorf("container %s waits for %s to be %s, but it %w", c.Name, d.Container, d.Condition, err)
		}
		if met {
			continue
		}
		if timeout := cmp.Or(byName[d.Container].StartTimeout, DefaultStartTimeout); time.Since(since) > timeout {
			return false, fmt.Errorf("container %s: %s did not reach %s within %s (its startTimeout)", c.Name, d.Container, d.Condition, timeout)
		}
		return true, nil
	}
	return false, nil
}

func stateOf(states []ContainerState, name string) ContainerState {
	for _, st := range states {
		if st.Name == name {
			return st
		}
	}
	return ContainerState{Name: name}
}
