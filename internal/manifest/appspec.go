package manifest

import (
	"bytes"
	"slices"
	"strings"
)

// ParseAppSpec parses and validates a CodeDeploy appspec for ECS, in YAML or JSON.
func ParseAppSpec(path string, data []byte) (*AppSpec, error) {
	isJSON := looksLikeJSON(data)
	parse := parseYAML
	if isJSON {
		parse = parseJSON
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, emptyFile(path, "an appspec (version: 0.0, Resources: ...)")
	}
	d := newDecoder(path, isJSON)
	root, ok := parseFile(parse, d, data)
	if !ok {
		return nil, d.errs.Err()
	}
	if root.kind == kindNull && !root.broken {
		return nil, emptyFile(path, "an appspec (version: 0.0, Resources: ...)")
	}
	app := d.appSpec(root)
	app.Path = path
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	return app, nil
}

// looksLikeJSON: a JSON appspec is an object, and YAML files rarely start with "{".
func looksLikeJSON(data []byte) bool {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

func (d *decoder) appSpec(n *node) *AppSpec {
	app := &AppSpec{Pos: n.pos}
	d.object(n, "appspec", app,
		req("version", func(v *node) { app.Version = d.appSpecVersion(v) }),
		req("Resources", func(v *node) { app.Resources = d.appSpecResources(v) }),
		opt("Hooks", func(v *node) { app.Hooks = d.appSpecHooks(v) }),
	)
	return app
}

func (d *decoder) appSpecVersion(n *node) string {
	if n.isScalar() && (n.text == "0.0" || (n.kind == kindInt || n.kind == kindFloat) && n.f == 0) {
		return "0.0"
	}
	if !n.isScalar() {
		d.expect(n, "version", kindString)
		return ""
	}
	d.errorf(n.pos, "version: unsupported %q (allowed: 0.0)", clip(n.text))
	return n.text
}

// singleKey decodes one element of a list of single-key mappings
// ("- TargetService: {...}", "- BeforeInstall: fn").
func (d *decoder) singleKey(n *node, what string) (entry, bool) {
	if !d.expect(n, what, kindMap) {
		return entry{}, false
	}
	if len(n.entries) != 1 {
		d.errorf(n.pos, "%s: each element holds exactly one key, found %d", what, len(n.entries))
		return entry{}, false
	}
	return n.entries[0], true
}

func (d *decoder) appSpecResources(n *node) []*ECSService {
	var out []*ECSService
	d.list(n, "Resources", func(i int, v *node) {
		e, ok := d.singleKey(v, "Resources")
		if !ok {
			return
		}
		if i > 0 {
			d.errorf(e.pos, "Resources: an ECS appspec has exactly one resource (the service to deploy); found another: %q", e.key)
			return
		}
		out = append(out, d.ecsService(e.key, e.pos, e.value))
	})
	if n.kind == kindSeq && len(n.items) == 0 {
		d.errorf(n.pos, "Resources: needs one AWS::ECS::Service resource")
	}
	return out
}

func (d *decoder) ecsService(name string, keyPos Pos, n *node) *ECSService {
	svc := &ECSService{Name: name, Pos: keyPos}
	d.object(n, "resource "+quote(name), svc,
		req("Type", func(v *node) { svc.Type, _ = d.enum(v, "Type", "AWS::ECS::Service") }),
		req("Properties", func(v *node) { d.ecsServiceProperties(v, svc) }),
	)
	return svc
}

func (d *decoder) ecsServiceProperties(n *node, svc *ECSService) {
	d.object(n, "Properties", svc,
		req("TaskDefinition", func(v *node) { svc.TaskDefinition, _ = d.name(v, "TaskDefinition") }),
		req("LoadBalancerInfo", func(v *node) {
			d.object(v, "LoadBalancerInfo", nil,
				req("ContainerName", func(v *node) {
					svc.ContainerName, _ = d.name(v, "ContainerName")
					svc.ContainerNamePos = v.pos
				}),
				req("ContainerPort", func(v *node) {
					svc.ContainerPort, _ = d.intIn(v, "ContainerPort", 1, 65535)
					svc.ContainerPortPos = v.pos
				}),
			)
		}),
		opt("PlatformVersion", func(v *node) { svc.PlatformVersion, _ = d.str(v, "PlatformVersion") }),
		// Networking and capacity only mean something on AWS.
		ignored("NetworkConfiguration"),
		ignored("CapacityProviderStrategy"),
	)
}

func (d *decoder) appSpecHooks(n *node) []*AppSpecHook {
	var out []*AppSpecHook
	d.list(n, "Hooks", func(_ int, v *node) {
		e, ok := d.singleKey(v, "Hooks")
		if !ok {
			return
		}
		if !slices.Contains(ECSHookEvents, e.key) {
			d.errorf(e.pos, "Hooks: unknown event %q (allowed: %s)", e.key, strings.Join(ECSHookEvents, ", "))
			return
		}
		if i := slices.IndexFunc(out, func(h *AppSpecHook) bool { return h.Event == e.key }); i >= 0 {
			d.errorf(e.pos, "Hooks: %s is hooked twice (line %d)", e.key, out[i].Pos.Line)
			return
		}
		if e.value.kind == kindNull {
			d.errorf(e.pos, "%s: needs the name of a function (mapped to a command or URL in greenlight.yaml)", e.key)
			return
		}
		if fn, ok := d.name(e.value, e.key); ok {
			out = append(out, &AppSpecHook{Event: e.key, Function: fn, Pos: e.pos})
		}
	})
	return out
}
