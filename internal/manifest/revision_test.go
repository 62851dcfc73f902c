package manifest

import (
	"os"
	"testing"
)

func TestValidateRevision(t *testing.T) {
	appData, err := os.ReadFile("testdata/appspec.yaml")
	mustNotFail(t, err)
	tdData, err := os.ReadFile("testdata/taskdef-template.json")
	mustNotFail(t, err)
	td, err := ParseTaskDefinition("taskdef.json", tdData)
	mustNotFail(t, err)
	app, err := ParseAppSpec("appspec.yaml", appData)
	mustNotFail(t, err)
	mustNotFail(t, ValidateRevision(app, td))

	for _, tc := range []struct {
		name   string
		change func(app *AppSpec, td *TaskDefinition)
		want   []string
	}{
		{"unknown container", func(app *AppSpec, _ *TaskDefinition) { app.Target().ContainerName = "web" }, []string{
			`appspec.yaml:8:26: ContainerName: "web" is not a container of taskdef.json (containers: api)`,
		}},
		{"port not mapped", func(app *AppSpec, _ *TaskDefinition) { app.Target().ContainerPort = 3000 }, []string{
			`appspec.yaml:9:26: ContainerPort: 3000 is not a containerPort of container "api" in taskdef.json (ports: 8080)`,
		}},
		{"no ports, no image", func(_ *AppSpec, td *TaskDefinition) {
			td.ContainerDefinitions[0].PortMappings = nil
			td.ContainerDefinitions[0].Image = ""
		}, []string{
			`appspec.yaml:9:26: ContainerPort: 8080 is not a containerPort of container "api" in taskdef.json (ports: none)`,
			`taskdef.json:9:5: container "api" has no image`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, _ := ParseAppSpec("appspec.yaml", appData)
			td, _ := ParseTaskDefinition("taskdef.json", tdData)
			tc.change(app, td)
			assertErrors(t, "", ValidateRevision(app, td), tc.want...)
		})
	}
	if err := ValidateRevision(nil, td); err == nil {
		t.Error("ValidateRevision accepted a nil appspec")
	}
}
