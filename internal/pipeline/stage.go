package pipeline

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// runOrderGroups splits a stage's actions by run_order, ascending; actions of one
// group keep their declaration order. A run_order of 0 means the default, 1.
func runOrderGroups(actions []*manifest.Action) [][]*manifest.Action {
	byOrder := map[int][]*manifest.Action{}
	for _, a := range actions {
		byOrder[runOrder(a)] = append(byOrder[runOrder(a)], a)
	}
	orders := make([]int, 0, len(byOrder))
	for o := range byOrder {
		orders = append(orders, o)
	}
	sort.Ints(orders)
	groups := make([][]*manifest.Action, 0, len(orders))
	for _, o := range orders {
		groups = append(groups, byOrder[o])
	}
	return groups
}

func runOrder(a *manifest.Action) int {
	if a.RunOrder <= 0 {
		return 1
	}
	return a.RunOrder
}

// runStage runs the stage's run_order groups in turn, each group's actions in
// parallel. A failed action fails the stage once its whole group is done; later
// groups do not run. A stop request lets the current group finish (or abandons
// it) and starts nothing more.
func (r *run) runStage(idx int) (stageResult, error) {
	stage := r.e.stages()[idx]
	for _, group := range runOrderGroups(stage.Actions) {
		results, err := r.runGroup(stage, group)
		if err != nil {
			return stageResult{}, err
		}
		ex, err := r.load()
		if err != nil {
			return stageResult{}, err
		}
		var failed, stopped []string
		for i, res := range results {
			switch res.status {
			case StatusSucceeded:
			case StatusFailed:
				failed = append(failed, fmt.Sprintf("action %s: %s", group[i].Name, res.message))
			default:
				stopped = append(stopped, group[i].Name)
			}
		}
		switch {
		case ex.Status == StatusStopping || len(stopped) > 0:
			return stageResult{status: StatusStopped, message: stopSummary(ex)}, nil
		case len(failed) > 0:
			return stageResult{status: StatusFailed, message: strings.Join(failed, "; ")}, nil
		}
	}
	return stageResult{status: StatusSucceeded}, nil
}

// runGroup runs one run_order group's actions in parallel and waits for all.
func (r *run) runGroup(stage *manifest.Stage, group []*manifest.Action) ([]actionResult, error) {
	results := make([]actionResult, len(group))
	errs := make([]error, len(group))
	var wg sync.WaitGroup
	for i, a := range group {
		wg.Go(func() {
			results[i], errs[i] = r.runAction(stage, a)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}
