package router

import (
	"maps"
	"slices"
	"time"
)

// status reports the service as the agent shows it; s.mu must be held.
func (s *service) status() ServiceStatus {
	st := ServiceStatus{Spec: s.spec, Version: s.version}
	if s.prod != nil {
		st.ProductionAddress = s.prod.bound
	}
	if s.test != nil {
		st.TestAddress = s.test.bound
	}
	byGroup := map[string]int{}
	for _, g := range s.spec.TargetGroups {
		byGroup[g.Name] = len(st.TargetGroups)
		st.TargetGroups = append(st.TargetGroups, TargetGroupStatus{Name: g.Name, Targets: []TargetStatus{}})
	}
	for _, t := range s.sortedTargets() {
		i, ok := byGroup[t.group.name]
		if !ok {
			// A group dropped from the spec while its targets drain.
			i = len(st.TargetGroups)
			byGroup[t.group.name] = i
			st.TargetGroups = append(st.TargetGroups, TargetGroupStatus{Name: t.group.name})
		}
		st.TargetGroups[i].Targets = append(st.TargetGroups[i].Targets, t.status())
	}
	return st
}

func (t *target) status() TargetStatus {
	state := t.health
	if t.removed.Load() {
		state = TargetDraining
	}
	reason := t.reason
	if down := t.downStatus(time.Now()); down != "" {
		reason = down
	}
	return TargetStatus{
		TargetSpec: t.spec,
		State:      state,
		Reason:     reason,
		InFlight:   int(t.inflight.Load()),
		LongLived:  int(t.longLived.Load()),
	}
}

// specGroups returns the metrics of the groups in the spec, in spec order.
func (s *service) specGroups() []*group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*group, 0, len(s.spec.TargetGroups))
	for _, g := range s.spec.TargetGroups {
		out = append(out, s.groups[g.Name])
	}
	return out
}

// allGroups returns every group the service ever had (all keep rotating).
func (s *service) allGroups() []*group {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.groups))
}
