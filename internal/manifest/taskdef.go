package manifest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// taskDefinitionKeys are RegisterTaskDefinition's request fields, in AWS's order.
var taskDefinitionKeys = []string{
	"family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
	"placementConstraints", "requiresCompatibilities", "cpu", "memory", "tags", "pidMode", "ipcMode",
	"proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform", "enableFaultInjection",
}

// containerKeys are ContainerDefinition's fields, in AWS's order.
var containerKeys = []string{
	"name", "image", "repositoryCredentials", "cpu", "memory", "memoryReservation", "links", "portMappings",
	"essential", "restartPolicy", "entryPoint", "command", "environment", "environmentFiles", "mountPoints",
	"volumesFrom", "linuxParameters", "secrets", "dependsOn", "startTimeout", "stopTimeout", "versionConsistency",
	"hostname", "user", "workingDirectory", "disableNetworking", "privileged", "readonlyRootFilesystem",
	"dnsServers", "dnsSearchDomains", "extraHosts", "dockerSecurityOptions", "interactive", "pseudoTerminal",
	"dockerLabels", "ulimits", "logConfiguration", "healthCheck", "systemControls", "resourceRequirements",
	"firelensConfiguration", "credentialSpecs",
}

// ECS's pattern for task families and container names.
var ecsName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// ParseTaskDefinition parses and validates an ECS task definition (JSON, the
// RegisterTaskDefinition request).
func ParseTaskDefinition(path string, data []byte) (*TaskDefinition, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, emptyFile(path, `a task definition ({"family": ..., "containerDefinitions": [...]})`)
	}
	d := newDecoder(path, true)
	root, ok := parseFile(parseJSON, d, data)
	if !ok {
		return nil, d.errs.Err()
	}
	td := d.taskDefinition(root)
	td.Path = path
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	return td, nil
}

// withExtras builds the fields of an object from typed decoders; every other key
// of keys is kept raw in extra.
func withExtras(keys []string, typed map[string]field, extra *map[string]json.RawMessage) []field {
	fields := make([]field, len(keys))
	for i, key := range keys {
		if f, ok := typed[key]; ok {
			fields[i] = f
			continue
		}
		fields[i] = opt(key, func(v *node) {
			if *extra == nil {
				*extra = map[string]json.RawMessage{}
			}
			(*extra)[key] = compact(v.raw)
		})
	}
	return fields
}

// compact keeps a raw value the way encoding/json writes it back, so that a task
// definition stored and read again is unchanged.
func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return json.RawMessage(slices.Clone(raw))
	}
	return b.Bytes()
}

func byKey(fields ...field) map[string]field {
	m := make(map[string]field, len(fields))
	for _, f := range fields {
		m[f.key] = f
	}
	return m
}

func (d *decoder) taskDefinition(n *node) *TaskDefinition {
	td := &TaskDefinition{Pos: n.pos}
	typed := byKey(
		req("family", func(v *node) { td.Family = d.ecsName(v, "family") }),
		opt("taskRoleArn", func(v *node) { td.TaskRoleArn, _ = d.str(v, "taskRoleArn") }),
		opt("executionRoleArn", func(v *node) { td.ExecutionRoleArn, _ = d.str(v, "executionRoleArn") }),
		opt("networkMode", func(v *node) { td.NetworkMode, _ = d.enum(v, "networkMode", "bridge", "host", "awsvpc", "none") }),
		req("containerDefinitions", func(v *node) { td.ContainerDefinitions = d.containers(v) }),
		opt("cpu", func(v *node) { td.Cpu = d.taskSize(v, "cpu") }),
		opt("memory", func(v *node) { td.Memory = d.taskSize(v, "memory") }),
	)
	d.object(n, "task definition", td, withExtras(taskDefinitionKeys, typed, &td.Extra)...)
	return td
}

func (d *decoder) ecsName(n *node, what string) string {
	s, ok := d.name(n, what)
	if ok && !ecsName.MatchString(s) {
		d.errorf(n.pos, "%s: %q may hold only letters, digits, - and _ (at most 255)", what, clip(s))
	}
	return s
}

// taskSize decodes task-level cpu or memory, which ECS takes as strings.
func (d *decoder) taskSize(n *node, what string) string {
	if n.kind == kindInt || n.kind == kindFloat {
		d.errorf(n.pos, "%s: expected a string, got the number %s (task-level cpu and memory are strings in ECS, like \"%s\")", what, n.text, n.text)
		return n.text
	}
	s, _ := d.str(n, what)
	return s
}

func (d *decoder) containers(n *node) []*ContainerDefinition {
	var out []*ContainerDefinition
	d.list(n, "containerDefinitions", func(_ int, v *node) {
		c := d.container(v)
		if c.Name != "" && slices.ContainsFunc(out, func(o *ContainerDefinition) bool { return o.Name == c.Name }) {
			d.errorf(d.at(c, "name", c.Pos), "name: container %q is defined twice", c.Name)
		}
		out = append(out, c)
	})
	if n.kind != kindSeq {
		return out
	}
	if len(n.items) == 0 {
		d.errorf(n.pos, "containerDefinitions: needs at least one container")
	}
	if len(out) > 0 && !slices.ContainsFunc(out, (*ContainerDefinition).IsEssential) {
		d.errorf(n.pos, "containerDefinitions: at least one container must be essential")
	}
	d.checkDependencies(out)
	return out
}

// IsEssential reports whether the container stops the task when it stops (ECS's
// default: yes).
func (c *ContainerDefinition) IsEssential() bool { return c.Essential == nil || *c.Essential }

func validHealthCommand(cmd []string) bool {
	return (cmd[0] == "CMD" && len(cmd) >= 2) || (cmd[0] == "CMD-SHELL" && len(cmd) == 2)
}

// checkDependencies holds dependsOn to ECS's rules: another container of the
// task, HEALTHY only on one with a health check, COMPLETE and SUCCESS only on a
// non-essential one, and no cycle.
func (d *decoder) checkDependencies(cs []*ContainerDefinition) {
	byName := map[string]*ContainerDefinition{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	for _, c := range cs {
		for i := range c.DependsOn {
			d.checkDependency(c, &c.DependsOn[i], byName, cs)
		}
	}
	if cycle := dependencyCycle(cs, byName); cycle != nil {
		d.errorf(cycle[0].Pos, "dependsOn: containers %s can never start: their dependencies wait for each other", strings.Join(definitionNames(cycle), ", "))
	}
}

func (d *decoder) checkDependency(c *ContainerDefinition, dep *ContainerDependency, byName map[string]*ContainerDefinition, cs []*ContainerDefinition) {
	target, ok := byName[dep.ContainerName]
	at := dep.Pos // where containerName was written
	switch {
	case dep.ContainerName == "":
	case !ok || target == c:
		d.errorf(at, "containerName: %q is not another container of the task definition (containers: %s)", dep.ContainerName, strings.Join(definitionNames(cs), ", "))
	case dep.Condition == DependencyHealthy && target.HealthCheck == nil:
		d.errorf(at, "containerName: %s waits for %q to be HEALTHY, but it has no healthCheck", c.Name, target.Name)
	case (dep.Condition == DependencyComplete || dep.Condition == DependencySuccess) && target.IsEssential():
		d.errorf(at, "containerName: %s waits for %q to reach %s, but it is essential (ECS allows COMPLETE and SUCCESS on non-essential containers only)", c.Name, target.Name, dep.Condition)
	}
}

// dependencyCycle returns the containers that can never start because they wait
// for each other, or nil.
func dependencyCycle(cs []*ContainerDefinition, byName map[string]*ContainerDefinition) []*ContainerDefinition {
	started := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, c := range cs {
			if !started[c.Name] && !slices.ContainsFunc(c.DependsOn, func(dep ContainerDependency) bool {
				return byName[dep.ContainerName] != nil && byName[dep.ContainerName] != c && !started[dep.ContainerName]
			}) {
				started[c.Name], progress = true, true
			}
		}
	}
	var waiting []*ContainerDefinition
	for _, c := range cs {
		if !started[c.Name] {
			waiting = append(waiting, c)
		}
	}
	return waiting
}

func definitionNames(cs []*ContainerDefinition) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}

func (d *decoder) container(n *node) *ContainerDefinition {
	c := &ContainerDefinition{Pos: n.pos}
	typed := byKey(
		req("name", func(v *node) { c.Name = d.ecsName(v, "name") }),
		req("image", func(v *node) { c.Image, _ = d.name(v, "image") }),
		opt("cpu", func(v *node) { c.Cpu, _ = d.intIn(v, "cpu", 0, 10*1024*1024) }),
		opt("memory", func(v *node) { c.Memory, _ = d.intIn(v, "memory", 6, 1<<30) }),
		opt("portMappings", func(v *node) {
			d.list(v, "portMappings", func(_ int, v *node) { c.PortMappings = append(c.PortMappings, d.portMapping(v)) })
		}),
		opt("essential", func(v *node) {
			if b, ok := d.boolean(v, "essential"); ok {
				c.Essential = &b
			}
		}),
		opt("entryPoint", func(v *node) { c.EntryPoint = d.strings(v, "entryPoint", nil) }),
		opt("command", func(v *node) { c.Command = d.strings(v, "command", nil) }),
		opt("environment", func(v *node) {
			d.list(v, "environment", func(_ int, v *node) { c.Environment = append(c.Environment, d.nameValue(v)) })
		}),
		opt("secrets", func(v *node) {
			d.list(v, "secrets", func(_ int, v *node) { c.Secrets = append(c.Secrets, d.containerSecret(v)) })
		}),
		opt("user", func(v *node) { c.User, _ = d.str(v, "user") }),
		opt("workingDirectory", func(v *node) { c.WorkingDirectory, _ = d.str(v, "workingDirectory") }),
		opt("healthCheck", func(v *node) { c.HealthCheck = d.containerHealthCheck(v) }),
		opt("stopTimeout", func(v *node) { c.StopTimeout, _ = d.intIn(v, "stopTimeout", 2, 120) }),
		opt("startTimeout", func(v *node) { c.StartTimeout, _ = d.intIn(v, "startTimeout", 2, 120) }),
		opt("dependsOn", func(v *node) {
			d.list(v, "dependsOn", func(_ int, v *node) { c.DependsOn = append(c.DependsOn, d.containerDependency(v)) })
		}),
	)
	d.object(n, "container", c, withExtras(containerKeys, typed, &c.Extra)...)
	return c
}

func (d *decoder) portMapping(n *node) PortMapping {
	var pm PortMapping
	d.object(n, "portMappings", &pm,
		opt("containerPort", func(v *node) { pm.ContainerPort, _ = d.intIn(v, "containerPort", 1, 65535) }),
		opt("hostPort", func(v *node) { pm.HostPort, _ = d.intIn(v, "hostPort", 0, 65535) }),
		opt("protocol", func(v *node) { pm.Protocol, _ = d.enum(v, "protocol", "tcp", "udp") }),
		opt("name", func(v *node) { pm.Name, _ = d.str(v, "name") }),
		opt("appProtocol", func(v *node) { d.enum(v, "appProtocol", "http", "http2", "grpc") }),
		opt("containerPortRange", func(v *node) { d.str(v, "containerPortRange") }),
	)
	if n.kind == kindMap && n.get("containerPort") == nil && n.get("containerPortRange") == nil {
		d.errorf(n.pos, "portMappings: missing required key \"containerPort\"")
	}
	return pm
}

func (d *decoder) nameValue(n *node) NameValue {
	var nv NameValue
	d.object(n, "environment", nil,
		req("name", func(v *node) { nv.Name, _ = d.name(v, "name") }),
		opt("value", func(v *node) { nv.Value, _ = d.str(v, "value") }),
	)
	return nv
}

func (d *decoder) containerDependency(n *node) ContainerDependency {
	dep := ContainerDependency{Pos: n.pos}
	d.object(n, "dependsOn", nil,
		req("containerName", func(v *node) {
			dep.ContainerName, _ = d.name(v, "containerName")
			dep.Pos = v.pos // errors about the dependency point at the name
		}),
		req("condition", func(v *node) {
			dep.Condition, _ = d.enum(v, "condition", DependencyStart, DependencyComplete, DependencySuccess, DependencyHealthy)
		}),
	)
	return dep
}

func (d *decoder) containerSecret(n *node) ContainerSecret {
	cs := ContainerSecret{Pos: n.pos}
	d.object(n, "secrets", nil,
		req("name", func(v *node) { cs.Name, _ = d.name(v, "name") }),
		req("valueFrom", func(v *node) { cs.ValueFrom, _ = d.name(v, "valueFrom") }),
	)
	return cs
}

// containerHealthCheck follows ECS's HealthCheck limits.
func (d *decoder) containerHealthCheck(n *node) *ContainerHealthCheck {
	hc := &ContainerHealthCheck{}
	d.object(n, "healthCheck", nil,
		req("command", func(v *node) {
			hc.Command = d.strings(v, "command", nil)
			switch {
			case v.kind != kindSeq:
			case len(hc.Command) == 0:
				d.errorf(v.pos, `command: needs a command, like ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]`)
			case !validHealthCommand(hc.Command):
				d.errorf(v.pos, `command: %q: want ["CMD", "program", "args"...] or ["CMD-SHELL", "shell command"]`, hc.Command)
			}
		}),
		opt("interval", func(v *node) { hc.Interval, _ = d.intIn(v, "interval", 5, 300) }),
		opt("timeout", func(v *node) { hc.Timeout, _ = d.intIn(v, "timeout", 2, 60) }),
		opt("retries", func(v *node) { hc.Retries, _ = d.intIn(v, "retries", 1, 10) }),
		opt("startPeriod", func(v *node) { hc.StartPeriod, _ = d.intIn(v, "startPeriod", 0, 300) }),
	)
	return hc
}
