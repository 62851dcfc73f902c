package manifest

import (
	"os"
	"reflect"
	"testing"
)

func TestParseAppSpecYAMLAndJSON(t *testing.T) {
	want := ECSService{
		Name: "TargetService", Type: "AWS::ECS::Service", TaskDefinition: "<TASK_DEFINITION>",
		ContainerName: "api", ContainerPort: 8080, PlatformVersion: "LATEST",
	}
	wantHooks := []string{"BeforeInstall", "LambdaFunctionToValidateBeforeInstall", "BeforeAllowTraffic", "LambdaFunctionToValidateBeforeTraffic", "AfterAllowTraffic", "LambdaFunctionToValidateAfterTraffic"}
	for _, tc := range []struct {
		file             string
		namePos, portPos Pos
		firstHook        Pos
	}{
		{"testdata/appspec.yaml", Pos{"testdata/appspec.yaml", 8, 26}, Pos{"testdata/appspec.yaml", 9, 26}, Pos{"testdata/appspec.yaml", 19, 5}},
		{"testdata/appspec.json", Pos{"testdata/appspec.json", 9, 49}, Pos{"testdata/appspec.json", 9, 73}, Pos{"testdata/appspec.json", 17, 6}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			mustNotFail(t, err)
			app, err := ParseAppSpec(tc.file, data)
			mustNotFail(t, err)
			got := *app.Target()
			if got.ContainerNamePos != tc.namePos || got.ContainerPortPos != tc.portPos {
				t.Errorf("LoadBalancerInfo positions = %v, %v", got.ContainerNamePos, got.ContainerPortPos)
			}
			got.Pos, got.ContainerNamePos, got.ContainerPortPos = Pos{}, Pos{}, Pos{}
			if got != want || app.Version != "0.0" || app.Path != tc.file {
				t.Errorf("appspec = %+v, target %+v", app, got)
			}
			var hooks []string
			for _, h := range app.Hooks {
				hooks = append(hooks, h.Event, h.Function)
			}
			if !reflect.DeepEqual(hooks, wantHooks) || app.Hooks[0].Pos != tc.firstHook {
				t.Errorf("hooks = %v, first at %v", hooks, app.Hooks[0].Pos)
			}
			if app.HookFor(HookAfterAllowTraffic) != "LambdaFunctionToValidateAfterTraffic" || app.HookFor(HookAfterInstall) != "" {
				t.Error("HookFor")
			}
		})
	}
}

func TestParseAppSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{"appspec.yaml:1:1: the file is empty; expected an appspec (version: 0.0, Resources: ...)"}},
		{"yaml", `version: 1.0
Resources:
  - TargetService:
      Type: AWS::EC2::Instance
      Properties:
        TaskDefinition: x
        LoadBalancerInfo: {ContainerName: api, ContainerPort: 70000}
        Tags: []
  - Other: {}
Hooks:
  - BeforeTraffic: A
  - BeforeInstall:
  - {BeforeInstall: a, AfterInstall: b}
  - AfterInstall: A
  - AfterInstall: B
files: []
`, []string{
			`appspec.yaml:1:10: version: unsupported "1.0" (allowed: 0.0)`,
			`appspec.yaml:4:13: Type: unknown "AWS::EC2::Instance" (allowed: AWS::ECS::Service)`,
			"appspec.yaml:7:63: ContainerPort: 70000 is out of range (allowed: 1 to 65535)",
			`appspec.yaml:8:9: Properties: unknown key "Tags" (allowed: TaskDefinition, LoadBalancerInfo, PlatformVersion, NetworkConfiguration, CapacityProviderStrategy)`,
			`appspec.yaml:9:5: Resources: an ECS appspec has exactly one resource (the service to deploy); found another: "Other"`,
			`appspec.yaml:11:5: Hooks: unknown event "BeforeTraffic" (allowed: BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic)`,
			"appspec.yaml:12:5: BeforeInstall: needs the name of a function (mapped to a command or URL in greenlight.yaml)",
			"appspec.yaml:13:5: Hooks: each element holds exactly one key, found 2",
			"appspec.yaml:15:5: Hooks: AfterInstall is hooked twice (line 14)",
			`appspec.yaml:16:1: appspec: unknown key "files" (allowed: version, Resources, Hooks)`,
		}},
		{"missing", "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        LoadBalancerInfo: {ContainerName: api}\n", []string{
			`appspec.yaml:6:9: Properties: missing required key "TaskDefinition"`,
			`appspec.yaml:6:27: LoadBalancerInfo: missing required key "ContainerPort"`,
		}},
		{"no resources", "version: 0.0\nResources: []\n", []string{"appspec.yaml:2:12: Resources: needs one AWS::ECS::Service resource"}},
		{"json types", "{\n  \"version\": \"0.0\",\n  \"Resources\": [{\"TargetService\": {\"Type\": \"AWS::ECS::Service\", \"Properties\": {\"TaskDefinition\": \"x\", \"LoadBalancerInfo\": {\"ContainerName\": \"api\", \"ContainerPort\": \"3000\"}}}}],\n  \"Hooks\": [{\"BeforeInstall\": 1}]\n}\n", []string{
			`appspec.yaml:3:165: ContainerPort: expected an integer, got the string "3000"`,
			"appspec.yaml:4:31: BeforeInstall: expected a string, got the number 1",
		}},
		{"json syntax", "{\"version\": 0.0,\n \"Resources\": [}", []string{
			"appspec.yaml:2:16: invalid JSON: invalid character '}' looking for beginning of value",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, err := ParseAppSpec("appspec.yaml", []byte(tc.src))
			assertErrors(t, tc.src, err, tc.want...)
			if app != nil {
				t.Error("an appspec with errors was returned")
			}
		})
	}
}
