package manifest

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

func TestParseTaskDefinition(t *testing.T) {
	data, err := os.ReadFile("testdata/taskdef-template.json")
	mustNotFail(t, err)
	td, err := ParseTaskDefinition("taskdef.json", data)
	mustNotFail(t, err)
	if td.Family != "orders-service" || td.NetworkMode != "bridge" || td.Cpu != "256" || td.Memory != "512" || td.Path != "taskdef.json" {
		t.Errorf("task definition = %+v", td)
	}
	if got := string(td.Extra["requiresCompatibilities"]); got != `["EC2"]` {
		t.Errorf("extra requiresCompatibilities = %s", got)
	}
	c := td.Container("api")
	if c == nil || td.Container("web") != nil {
		t.Fatal("Container lookup")
	}
	if c.Image != "<IMAGE1_NAME>" || !*c.Essential || c.StopTimeout != 30 || c.Pos != (Pos{"taskdef.json", 9, 5}) {
		t.Errorf("container = %+v", c)
	}
	if !reflect.DeepEqual(c.PortMappings, []PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}) {
		t.Errorf("port mappings = %+v", c.PortMappings)
	}
	if !reflect.DeepEqual(c.Environment, []NameValue{{"FAIL_RATE", "0"}, {"LISTEN", ":8080"}}) || c.Secrets[0].Name != "DB_PASSWORD" {
		t.Errorf("environment = %+v, secrets = %+v", c.Environment, c.Secrets)
	}
	if hc := c.HealthCheck; hc == nil || hc.Interval != 5 || hc.Retries != 3 || len(hc.Command) != 3 {
		t.Errorf("health check = %+v", hc)
	}
	var logConfig struct {
		LogDriver string `json:"logDriver"`
	}
	if err := json.Unmarshal(c.Extra["logConfiguration"], &logConfig); err != nil || logConfig.LogDriver != "awslogs" {
		t.Errorf("extra logConfiguration = %s (%v)", c.Extra["logConfiguration"], err)
	}
	if string(c.Extra["memoryReservation"]) != "128" {
		t.Errorf("extra memoryReservation = %s", c.Extra["memoryReservation"])
	}

	// A task definition survives a JSON round trip (the deploy controller stores it).
	b, err := json.Marshal(td)
	mustNotFail(t, err)
	var back TaskDefinition
	mustNotFail(t, json.Unmarshal(b, &back))
	back.Path, back.Pos = td.Path, td.Pos
	for i, c := range back.ContainerDefinitions {
		c.Pos = td.ContainerDefinitions[i].Pos
		for j := range c.Secrets {
			c.Secrets[j].Pos = td.ContainerDefinitions[i].Secrets[j].Pos
		}
		for j := range c.DependsOn {
			c.DependsOn[j].Pos = td.ContainerDefinitions[i].DependsOn[j].Pos
		}
	}
	if !reflect.DeepEqual(&back, td) {
		t.Errorf("round trip:\n%+v\n%+v", &back, td)
	}
}

func TestParseTaskDefinitionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "  \n", []string{`taskdef.json:1:1: the file is empty; expected a task definition ({"family": ..., "containerDefinitions": [...]})`}},
		{"syntax", "{\n  \"family\": \"orders\",\n  \"containerDefinitions\": [\n    {\"name\": \"api\", \"image\": \"x\",}\n  ]\n}", []string{
			"taskdef.json:4:34: invalid JSON: invalid character '}' looking for beginning of object key string",
		}},
		{"syntax after a multibyte character", "{\"family\": \"é\" \"x\"}", []string{
			"taskdef.json:1:16: invalid JSON: invalid character '\"' after object key:value pair",
		}},
		{"bad literal", "{\n  \"family\": tru}", []string{
			"taskdef.json:2:16: invalid JSON: invalid character '}' in literal true (expecting 'e')",
		}},
		{"truncated", "{\"family\": \"orders\",\n \"containerDefinitions\": [", []string{
			"taskdef.json:2:27: invalid JSON: unexpected end of file",
		}},
		{"trailing data", "{\"family\": \"a\", \"containerDefinitions\": [{\"name\": \"a\", \"image\": \"b\"}]}\n{}", []string{
			"taskdef.json:2:1: invalid JSON: unexpected data after the top-level value",
		}},
		{"not an object", "[1]", []string{"taskdef.json:1:1: task definition: expected an object, got an array"}},
		{"types and keys", `{
  "family": "orders service",
  "cpu": 256,
  "networkMode": "overlay",
  "containerDefinitions": [
    {"name": "api", "image": "x", "portMappings": [{"containerPort": "3000"}, {"hostPort": 80}], "essential": false, "foo": 1},
    {"name": "api", "image": "", "environment": [{"value": "x"}], "secrets": [{"name": "S"}], "stopTimeout": 600, "healthCheck": {"command": []}}
  ],
  "family": "dup",
  "taskDefinitionArn": "arn:x"
}`, []string{
			`taskdef.json:2:13: family: "orders service" may hold only letters, digits, - and _ (at most 255)`,
			`taskdef.json:3:10: cpu: expected a string, got the number 256 (task-level cpu and memory are strings in ECS, like "256")`,
			`taskdef.json:4:18: networkMode: unknown "overlay" (allowed: bridge, host, awsvpc, none)`,
			`taskdef.json:6:70: containerPort: expected an integer, got the string "3000"`,
			`taskdef.json:6:79: portMappings: missing required key "containerPort"`,
			`taskdef.json:6:118: container: unknown key "foo" (allowed: name, image, repositoryCredentials, cpu, memory, memoryReservation, links, portMappings, essential, restartPolicy, entryPoint, command, environment, environmentFiles, mountPoints, volumesFrom, linuxParameters, secrets, dependsOn, startTimeout, stopTimeout, versionConsistency, hostname, user, workingDirectory, disableNetworking, privileged, readonlyRootFilesystem, dnsServers, dnsSearchDomains, extraHosts, dockerSecurityOptions, interactive, pseudoTerminal, dockerLabels, ulimits, logConfiguration, healthCheck, systemControls, resourceRequirements, firelensConfiguration, credentialSpecs)`,
			`taskdef.json:7:14: name: container "api" is defined twice`,
			"taskdef.json:7:30: image: must not be empty",
			`taskdef.json:7:50: environment: missing required key "name"`,
			`taskdef.json:7:79: secrets: missing required key "valueFrom"`,
			"taskdef.json:7:110: stopTimeout: 600 is out of range (allowed: 2 to 120)",
			`taskdef.json:7:142: command: needs a command, like ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]`,
			`taskdef.json:9:3: duplicate key "family"`,
			`taskdef.json:10:3: task definition: unknown key "taskDefinitionArn" (allowed: family, taskRoleArn, executionRoleArn, networkMode, containerDefinitions, volumes, placementConstraints, requiresCompatibilities, cpu, memory, tags, pidMode, ipcMode, proxyConfiguration, inferenceAccelerators, ephemeralStorage, runtimePlatform, enableFaultInjection)`,
		}},
		{"dependsOn", `{"family": "web", "containerDefinitions": [
  {"name": "app", "image": "a", "dependsOn": [{"containerName": "proxy", "condition": "HEALTHY"}, {"containerName": "db", "condition": "SUCCESS"}, {"containerName": "app", "condition": "START"}]},
  {"name": "proxy", "image": "p", "essential": false, "dependsOn": [{"containerName": "init", "condition": "COMPLETE"}, {"containerName": "x", "condition": "READY"}]},
  {"name": "db", "image": "d", "healthCheck": {"command": ["curl", "-f", "http://localhost/"]}},
  {"name": "init", "image": "i", "essential": false, "dependsOn": [{"containerName": "proxy", "condition": "START"}]}
]}`, []string{
			"taskdef.json:2:3: dependsOn: containers app, proxy, init can never start: their dependencies wait for each other",
			`taskdef.json:2:65: containerName: app waits for "proxy" to be HEALTHY, but it has no healthCheck`,
			`taskdef.json:2:117: containerName: app waits for "db" to reach SUCCESS, but it is essential (ECS allows COMPLETE and SUCCESS on non-essential containers only)`,
			`taskdef.json:2:166: containerName: "app" is not another container of the task definition (containers: app, proxy, db, init)`,
			`taskdef.json:3:139: containerName: "x" is not another container of the task definition (containers: app, proxy, db, init)`,
			`taskdef.json:3:157: condition: unknown "READY" (allowed: START, COMPLETE, SUCCESS, HEALTHY)`,
			`taskdef.json:4:59: command: ["curl" "-f" "http://localhost/"]: want ["CMD", "program", "args"...] or ["CMD-SHELL", "shell command"]`,
		}},
		{"missing", `{"containerDefinitions": []}`, []string{
			`taskdef.json:1:1: task definition: missing required key "family"`,
			"taskdef.json:1:26: containerDefinitions: needs at least one container",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td, err := ParseTaskDefinition("taskdef.json", []byte(tc.src))
			assertErrors(t, tc.src, err, tc.want...)
			if td != nil {
				t.Error("a task definition with errors was returned")
			}
		})
	}
}

func TestParseImageDefinitions(t *testing.T) {
	defs, err := ParseImageDefinitions("imagedefinitions.json", []byte(`[{"name":"api","imageUri":"orders:abc1234"},
 {"name":"worker","imageUri":"worker:abc1234"}]`))
	mustNotFail(t, err)
	want := []ImageDefinition{
		{Name: "api", ImageURI: "orders:abc1234", Pos: Pos{"imagedefinitions.json", 1, 2}},
		{Name: "worker", ImageURI: "worker:abc1234", Pos: Pos{"imagedefinitions.json", 2, 2}},
	}
	if !reflect.DeepEqual(defs, want) {
		t.Errorf("image definitions = %+v", defs)
	}

	for _, tc := range []struct {
		src  string
		want []string
	}{
		{`[{"name":"api"},{"name":"api","imageUri":"y","x":1}]`, []string{
			`imagedefinitions.json:1:2: image definition: missing required key "imageUri"`,
			`imagedefinitions.json:1:17: name: container "api" has two image definitions (line 1)`,
			`imagedefinitions.json:1:46: image definition: unknown key "x" (allowed: name, imageUri)`,
		}},
		{`{"name":"api","imageUri":"x"}`, []string{"imagedefinitions.json:1:1: imagedefinitions: expected an array, got an object"}},
		{`[]`, []string{`imagedefinitions.json:1:1: imagedefinitions: needs at least one {"name": ..., "imageUri": ...}`}},
		{``, []string{`imagedefinitions.json:1:1: the file is empty; expected a JSON array like [{"name": "api", "imageUri": "..."}]`}},
		{`[{"name": 1, "imageUri": null}]`, []string{
			"imagedefinitions.json:1:11: name: expected a string, got the number 1",
			"imagedefinitions.json:1:14: imageUri: a value is required",
		}},
	} {
		_, err := ParseImageDefinitions("imagedefinitions.json", []byte(tc.src))
		assertErrors(t, tc.src, err, tc.want...)
	}
}
