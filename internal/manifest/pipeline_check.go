package manifest

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var (
	// CodePipeline's patterns for stage, action and artifact names.
	stageActionName = regexp.MustCompile(`^[A-Za-z0-9.@_-]{1,100}$`)
	artifactName    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
)

// dotSegment reports a name a URL's path cannot hold as a segment: browsers
// resolve . and .. away (escaped as %2E too), so /executions/x/actions/../y
// is not the action's page.
func dotSegment(name string) bool { return name == "." || name == ".." }

// located is an action with the place it runs at.
type located struct {
	index  int // in file order across the pipeline
	stage  int
	sname  string
	action *Action
}

func (l located) String() string { return l.sname + "." + l.action.Name }

// before reports whether l has finished by the time o starts.
func (l located) before(o located) bool {
	return l.stage < o.stage || l.stage == o.stage && l.action.RunOrder < o.action.RunOrder
}

// pipelineCheck validates a pipeline as a whole: names, placement, the artifact
// graph, configuration and variable references.
type pipelineCheck struct {
	d          *decoder
	def        *Definition
	actions    []located
	producers  map[string]located
	namespaces map[string]located
}

func (d *decoder) validatePipeline(def *Definition) {
	p := def.Pipeline
	c := &pipelineCheck{d: d, def: def, producers: map[string]located{}, namespaces: map[string]located{}}
	c.checkVariables(p)
	c.checkStages(p)
	for _, l := range c.actions {
		c.checkPlacement(l)
		c.checkArtifactCounts(l)
		c.registerOutputs(l)
		c.registerNamespace(l)
	}
	c.checkInputs()
	c.validateTriggers(p)
	for _, l := range c.actions {
		c.checkConfiguration(l)
		c.checkVariableRefs(l)
	}
}

func (c *pipelineCheck) checkVariables(p *Pipeline) {
	seen := map[string]bool{}
	for _, v := range p.Variables {
		at := c.d.at(v, "name", v.Pos)
		switch {
		case v.Name == "":
		case !isVariableName(v.Name):
			c.d.errorf(at, "name: pipeline variable %q may hold only letters, digits, @, - and _", clip(v.Name))
		case seen[v.Name]:
			c.d.errorf(at, "name: pipeline variable %q is declared twice", v.Name)
		}
		seen[v.Name] = true
	}
}

func (c *pipelineCheck) checkStages(p *Pipeline) {
	stageNames := map[string]bool{}
	for si, s := range p.Stages {
		c.checkName(s, s.Pos, s.Name, "stage", stageNames)
		if len(s.Actions) == 0 && s.Name != "" {
			c.d.errorf(c.d.at(s, "actions", s.Pos), "actions: stage %q needs at least one action", s.Name)
		}
		actionNames := map[string]bool{}
		for _, a := range s.Actions {
			c.checkName(a, a.Pos, a.Name, "action", actionNames)
			c.actions = append(c.actions, located{index: len(c.actions), stage: si, sname: s.Name, action: a})
		}
	}
}

func (c *pipelineCheck) checkName(owner any, fallback Pos, name, what string, seen map[string]bool) {
	at := c.d.at(owner, "name", fallback)
	switch {
	case name == "":
	case !stageActionName.MatchString(name):
		c.d.errorf(at, "name: %s name %q may hold only letters, digits, ., @, - and _ (at most 100)", what, clip(name))
	case dotSegment(name):
		c.d.errorf(at, "name: %s name %q is not allowed: browsers remove . and .. from the console's URLs (allowed: letters, digits, ., @, - and _, at most 100, other than . and ..)", what, name)
	case seen[name]:
		c.d.errorf(at, "name: %s %q is defined twice", what, name)
	}
	seen[name] = true
}

// checkPlacement: the category/provider pair, and Source actions alone in the
// first stage, as CodePipeline requires.
func (c *pipelineCheck) checkPlacement(l located) {
	a := l.action
	if allowed, ok := providersOf[a.Category]; ok && a.Provider != "" && !slices.Contains(allowed, a.Provider) {
		c.d.errorf(c.d.at(a, "provider", a.Pos), "provider: %s is not a %s provider (allowed for %s: %s)", a.Provider, a.Category, a.Category, strings.Join(allowed, ", "))
	}
	switch {
	case a.Category == CategorySource && l.stage > 0:
		c.d.errorf(c.d.at(a, "category", a.Pos), "category: Source actions belong in the first stage only")
	case a.Category != CategorySource && a.Category != "" && l.stage == 0:
		c.d.errorf(c.d.at(a, "category", a.Pos), "category: the first stage holds only Source actions, not %s", a.Category)
	}
}

// artifactLimits are CodePipeline's input and output artifact counts per provider.
var artifactLimits = map[string]struct{ minIn, maxIn, minOut, maxOut int }{
	ProviderGit:             {0, 0, 1, 1},
	ProviderCodeStar:        {0, 0, 1, 1},
	ProviderCodeBuild:       {1, 5, 0, 5},
	ProviderECS:             {1, 1, 0, 0},
	ProviderCodeDeployToECS: {1, 5, 0, 0},
	ProviderManual:          {0, 0, 0, 0},
}

func (c *pipelineCheck) checkArtifactCounts(l located) {
	a := l.action
	lim, ok := artifactLimits[a.Provider]
	if !ok || !c.validPair(a) {
		return
	}
	check := func(key, verb string, n, lo, hi int) {
		at := c.d.at(a, key, a.Pos)
		switch {
		case hi == 0 && n > 0:
			c.d.errorf(at, "%s: a %s action %s no artifacts, found %d", key, a.Provider, verb, n)
		case lo == hi && n != lo:
			c.d.errorf(at, "%s: a %s action %s exactly %s, found %d", key, a.Provider, verb, artifacts(lo), n)
		case n < lo:
			c.d.errorf(at, "%s: a %s action %s at least %s, found %d", key, a.Provider, verb, artifacts(lo), n)
		case n > hi:
			c.d.errorf(at, "%s: a %s action %s at most %s, found %d", key, a.Provider, verb, artifacts(hi), n)
		}
	}
	check("input_artifacts", "takes", len(a.InputArtifacts), lim.minIn, lim.maxIn)
	check("output_artifacts", "produces", len(a.OutputArtifacts), lim.minOut, lim.maxOut)
}

func artifacts(n int) string {
	if n == 1 {
		return "1 artifact"
	}
	return itoa(n) + " artifacts"
}

// validPair reports whether the action's provider belongs to its category; checks
// specific to a provider are noise when it does not.
func (c *pipelineCheck) validPair(a *Action) bool {
	return slices.Contains(providersOf[a.Category], a.Provider)
}

func (c *pipelineCheck) registerOutputs(l located) {
	a := l.action
	for i, name := range a.OutputArtifacts {
		at := c.d.at(a, "output_artifacts["+itoa(i)+"]", a.Pos)
		if !artifactName.MatchString(name) {
			c.d.errorf(at, "output_artifacts: artifact name %q may hold only letters, digits, - and _ (at most 100)", clip(name))
			continue
		}
		if prev, ok := c.producers[name]; ok {
			c.d.errorf(at, "output_artifacts: artifact %q is already produced by %s (line %d)", name, prev, c.d.at(prev.action, "output_artifacts", prev.action.Pos).Line)
			continue
		}
		c.producers[name] = l
	}
}

func (c *pipelineCheck) registerNamespace(l located) {
	a := l.action
	if a.Namespace == "" {
		return
	}
	at := c.d.at(a, "namespace", a.Pos)
	switch prev, taken := c.namespaces[a.Namespace]; {
	case !isVariableName(a.Namespace):
		c.d.errorf(at, "namespace: %q may hold only letters, digits, @, - and _", clip(a.Namespace))
	case a.Namespace == NamespaceCodePipeline || a.Namespace == NamespaceVariables:
		c.d.errorf(at, "namespace: %q is reserved", a.Namespace)
	case taken:
		c.d.errorf(at, "namespace: %q is already used by %s", a.Namespace, prev)
	default:
		c.namespaces[a.Namespace] = l
	}
}

// artifactEdge says that action from reads artifact from action to.
type artifactEdge struct {
	from, to int
	artifact string
	pos      Pos
}

// checkInputs resolves every input artifact to the action producing it, which must
// run earlier. Cycles are reported once each, instead of as ordering errors.
func (c *pipelineCheck) checkInputs() {
	var edges []artifactEdge
	for _, l := range c.actions {
		a := l.action
		for i, name := range a.InputArtifacts {
			at := c.d.at(a, "input_artifacts["+itoa(i)+"]", a.Pos)
			if slices.Index(a.InputArtifacts, name) < i {
				c.d.errorf(at, "input_artifacts: artifact %q is listed twice", name)
				continue
			}
			producer, ok := c.producers[name]
			if !ok {
				c.d.errorf(at, "input_artifacts: artifact %q is not produced by any action (produced: %s)", name, allowedNames(slices.Sorted(maps.Keys(c.producers)), "none"))
				continue
			}
			edges = append(edges, artifactEdge{from: l.index, to: producer.index, artifact: name, pos: at})
		}
	}
	inCycle := c.reportCycles(edges)
	for _, e := range edges {
		consumer, producer := c.actions[e.from], c.actions[e.to]
		if inCycle[e.from] && inCycle[e.to] || producer.before(consumer) {
			continue
		}
		if producer.stage == consumer.stage && producer.action.RunOrder == consumer.action.RunOrder {
			c.d.errorf(e.pos, "input_artifacts: artifact %q is produced by %s, which runs at the same time (run_order %d); give this action a higher run_order or move it to a later stage", e.artifact, producer, consumer.action.RunOrder)
			continue
		}
		c.d.errorf(e.pos, "input_artifacts: artifact %q is produced by %s, which runs after this action", e.artifact, producer)
	}
}

// reportCycles finds artifact dependency cycles and returns the actions in them.
func (c *pipelineCheck) reportCycles(edges []artifactEdge) map[int]bool {
	out := map[int][]artifactEdge{}
	for _, e := range edges {
		out[e.from] = append(out[e.from], e)
	}
	inCycle := map[int]bool{}
	for _, l := range c.actions {
		if inCycle[l.index] {
			continue
		}
		path := cyclePath(l.index, out)
		if path == nil {
			continue
		}
		steps := make([]string, len(path))
		for i, e := range path {
			inCycle[e.from] = true
			steps[i] = fmt.Sprintf("%s reads %q from %s", c.actions[e.from], e.artifact, c.actions[e.to])
		}
		c.d.errorf(path[0].pos, "input_artifacts: artifact dependency cycle: %s", strings.Join(steps, ", "))
	}
	return inCycle
}

// cyclePath returns edges leading from start back to start, or nil.
func cyclePath(start int, out map[int][]artifactEdge) []artifactEdge {
	seen := map[int]bool{}
	var walk func(at int, path []artifactEdge) []artifactEdge
	walk = func(at int, path []artifactEdge) []artifactEdge {
		for _, e := range out[at] {
			next := append(slices.Clip(path), e)
			if e.to == start {
				return next
			}
			if !seen[e.to] {
				seen[e.to] = true
				if found := walk(e.to, next); found != nil {
					return found
				}
			}
		}
		return nil
	}
	return walk(start, nil)
}
