package manifest

import (
	"fmt"
	"slices"
	"strings"
)

// ValidateRevision checks an appspec against its task definition: the container
// named in LoadBalancerInfo exists, lists ContainerPort in its portMappings, and has
// an image.
func ValidateRevision(app *AppSpec, td *TaskDefinition) error {
	if app == nil || td == nil || len(app.Resources) == 0 {
		return fmt.Errorf("validate revision: need an appspec with a resource and a task definition")
	}
	var errs ErrorList
	svc := app.Target()
	c := td.Container(svc.ContainerName)
	if c == nil {
		errs.add(posOr(svc.ContainerNamePos, svc.Pos, app.Path), "ContainerName: %q is not a container of %s (containers: %s)",
			svc.ContainerName, fileName(td.Path, "the task definition"), strings.Join(containerNames(td), ", "))
		return errs.Err()
	}
	var ports []string
	for _, pm := range c.PortMappings {
		ports = append(ports, itoa(pm.ContainerPort))
	}
	if !slices.ContainsFunc(c.PortMappings, func(pm PortMapping) bool { return pm.ContainerPort == svc.ContainerPort }) {
		errs.add(posOr(svc.ContainerPortPos, svc.Pos, app.Path), "ContainerPort: %d is not a containerPort of container %q in %s (ports: %s)",
			svc.ContainerPort, c.Name, fileName(td.Path, "the task definition"), allowedNames(ports, "none"))
	}
	if strings.TrimSpace(c.Image) == "" {
		errs.add(posOr(c.Pos, td.Pos, td.Path), "container %q has no image", c.Name)
	}
	return errs.Err()
}

func containerNames(td *TaskDefinition) []string {
	names := make([]string, 0, len(td.ContainerDefinitions))
	for _, c := range td.ContainerDefinitions {
		names = append(names, c.Name)
	}
	return names
}

// posOr returns the first position that is known, or the file alone.
func posOr(p, fallback Pos, file string) Pos {
	switch {
	case p.Line > 0:
		return p
	case fallback.Line > 0:
		return fallback
	}
	return Pos{File: file}
}

func fileName(path, fallback string) string {
	if path == "" {
		return fallback
	}
	return path
}
