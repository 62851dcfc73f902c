package pipeline

import (
	"fmt"
	"maps"
	"slices"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// variableLookup resolves #{namespace.key} for one execution:
//   - codepipeline.PipelineExecutionId, codepipeline.PipelineName;
//   - variables.X: the pipeline variables (defaults overridden at start);
//   - <namespace>.X: the output variables of the action declaring that namespace,
//     from its latest successful attempt in this execution.
func (e *Engine) variableLookup(ex *ExecutionRecord, runs []*ActionRecord) func(ns, key string) (string, bool) {
	outputs := map[string]map[string]string{} // namespace -> variables
	for _, st := range e.stages() {
		for _, a := range st.Actions {
			if a.Namespace == "" {
				continue
			}
			if run := latestSucceeded(runs, st.Name, a.Name); run != nil {
				outputs[a.Namespace] = run.OutputVariables
			}
		}
	}
	return func(ns, key string) (string, bool) {
		switch ns {
		case manifest.NamespaceCodePipeline:
			switch key {
			case "PipelineExecutionId":
				return ex.ID, true
			case "PipelineName":
				return ex.Pipeline, true
			}
			return "", false
		case manifest.NamespaceVariables:
			v, ok := ex.Variables[key]
			return v, ok
		}
		v, ok := outputs[ns][key]
		return v, ok
	}
}

func latestSucceeded(runs []*ActionRecord, stage, action string) *ActionRecord {
	var latest *ActionRecord
	for _, run := range runs {
		if run.Stage == stage && run.Action == action && run.Status == StatusSucceeded &&
			(latest == nil || run.Attempt > latest.Attempt) {
			latest = run
		}
	}
	return latest
}

// resolveConfig expands the variables of every configuration value. An error
// names the key and, when known, where the user wrote it.
func resolveConfig(def *manifest.Action, lookup func(ns, key string) (string, bool)) (map[string]string, error) {
	out := make(map[string]string, len(def.Configuration))
	for _, k := range slices.Sorted(maps.Keys(def.Configuration)) {
		v, err := manifest.ExpandVariables(def.Configuration[k], lookup)
		if err != nil {
			if pos, ok := def.ConfigurationPos[k]; ok && pos.File != "" {
				return nil, fmt.Errorf("%s: configuration %s: %w", pos, k, err)
			}
			return nil, fmt.Errorf("configuration %s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}
