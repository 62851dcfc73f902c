package deploy

import (
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// Each service has two target groups with stable names; they swap roles (original,
// replacement) every deployment, as CodeDeploy's blue and green target groups do.
func targetGroupNames(service string) [2]string {
	return [2]string{service + "-1", service + "-2"}
}

func otherTargetGroup(service, tg string) string {
	names := targetGroupNames(service)
	if tg == names[0] {
		return names[1]
	}
	return names[0]
}

// baseSpec is the service's routing with the listeners, health check and draining
// of cfg, keeping the targets, weights and test route of cur (nil for a new service).
func baseSpec(cur *routing.ServiceSpec, cfg ServiceConfig) routing.ServiceSpec {
	names := targetGroupNames(cfg.Name)
	spec := routing.ServiceSpec{
		Name:               cfg.Name,
		ProductionListener: cfg.ProductionListener,
		TestListener:       cfg.TestListener,
		Listeners:          cfg.Listeners,
		HealthCheck: routing.HealthCheck{
			Path:               cfg.HealthCheck.Path,
			Interval:           jsontime.Duration(cfg.HealthCheck.Interval),
			Timeout:            jsontime.Duration(cfg.HealthCheck.Timeout),
			HealthyThreshold:   cfg.HealthCheck.HealthyThreshold,
			UnhealthyThreshold: cfg.HealthCheck.UnhealthyThreshold,
			Matcher:            cfg.HealthCheck.Matcher,
		},
		DeregistrationDelay: jsontime.Duration(cfg.DeregistrationDelay),
		TargetGroups:        []routing.TargetGroupSpec{{Name: names[0]}, {Name: names[1]}},
		ProductionWeights:   map[string]int{names[0]: 100, names[1]: 0},
	}
	if cur == nil {
		return spec
	}
	for i := range spec.TargetGroups {
		spec.TargetGroups[i].Targets = targetsOf(cur, spec.TargetGroups[i].Name)
	}
	for tg, w := range cur.ProductionWeights {
		spec.ProductionWeights[tg] = w
	}
	spec.TestTargetGroup = cur.TestTargetGroup
	if spec.TestListener == "" {
		spec.TestTargetGroup = ""
	}
	return spec
}

func targetsOf(spec *routing.ServiceSpec, tg string) []routing.TargetSpec {
	for _, g := range spec.TargetGroups {
		if g.Name == tg {
			return append([]routing.TargetSpec(nil), g.Targets...)
		}
	}
	return nil
}

// productionTargetGroup returns the group serving production in spec: the one with
// the larger weight that has targets, or "" when no group has targets.
func productionTargetGroup(spec *routing.ServiceSpec) string {
	best, bestWeight := "", -1
	for _, g := range spec.TargetGroups {
		if len(g.Targets) == 0 {
			continue
		}
		if w := spec.ProductionWeights[g.Name]; w > bestWeight {
			best, bestWeight = g.Name, w
		}
	}
	return best
}

func setTargets(spec *routing.ServiceSpec, tg string, targets []routing.TargetSpec) {
	for i := range spec.TargetGroups {
		if spec.TargetGroups[i].Name == tg {
			spec.TargetGroups[i].Targets = targets
		}
	}
}

// setWeights gives the replacement weight percent of production and the other
// target group the rest (for a service's first deployment that group is empty: the
// router answers 503 for its share, as production had nothing to serve before).
func setWeights(spec *routing.ServiceSpec, replacement string, weight int) {
	spec.ProductionWeights = map[string]int{
		replacement:                              weight,
		otherTargetGroup(spec.Name, replacement): 100 - weight,
	}
}

func targetSpecs(tasks []Task, revision string) []routing.TargetSpec {
	out := make([]routing.TargetSpec, len(tasks))
	for i, t := range tasks {
		out[i] = routing.TargetSpec{ID: t.ID, Address: t.Address, Revision: revision}
	}
	return out
}
