package manifest

import "bytes"

// ParseImageDefinitions parses imagedefinitions.json, the ECS standard deploy's
// input: a JSON array of {"name": container, "imageUri": image}.
func ParseImageDefinitions(path string, data []byte) ([]ImageDefinition, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, emptyFile(path, `a JSON array like [{"name": "api", "imageUri": "..."}]`)
	}
	d := newDecoder(path, true)
	root, ok := parseFile(parseJSON, d, data)
	if !ok {
		return nil, d.errs.Err()
	}
	var out []ImageDefinition
	d.list(root, "imagedefinitions", func(_ int, v *node) {
		def := ImageDefinition{Pos: v.pos}
		d.object(v, "image definition", nil,
			req("name", func(v *node) { def.Name, _ = d.name(v, "name") }),
			req("imageUri", func(v *node) { def.ImageURI, _ = d.name(v, "imageUri") }),
		)
		for _, prev := range out {
			if def.Name != "" && prev.Name == def.Name {
				d.errorf(v.pos, "name: container %q has two image definitions (line %d)", def.Name, prev.Pos.Line)
			}
		}
		out = append(out, def)
	})
	if root.kind == kindSeq && len(root.items) == 0 {
		d.errorf(root.pos, "imagedefinitions: needs at least one {\"name\": ..., \"imageUri\": ...}")
	}
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
