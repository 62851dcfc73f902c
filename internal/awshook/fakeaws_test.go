package awshook

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
)

// fakeAWS is CodeDeploy and ECS on loopback (internal/awsfake), with the real
// SDK clients pointed at it.
type fakeAWS struct {
	*awsfake.Server
	cd *codedeploy.Client
	ec *ecs.Client
}

const (
	targetPutStatus     = "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"
	targetGetDeployment = "CodeDeploy_20141006.GetDeployment"
	targetDescribeTD    = "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition"
	targetListTasks     = "AmazonEC2ContainerServiceV20141113.ListTasks"
	targetDescribeTasks = "AmazonEC2ContainerServiceV20141113.DescribeTasks"
	taskDefinitionARN   = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:7"
)

func newFakeAWS(t *testing.T) *fakeAWS {
	s := awsfake.New(t)
	s.Answer(targetPutStatus, map[string]any{"lifecycleEventHookExecutionId": "hook-1"})
	cfg := s.Config()
	return &fakeAWS{Server: s, cd: codedeploy.NewFromConfig(cfg), ec: ecs.NewFromConfig(cfg)}
}

// deployment answers GetDeployment and DescribeTaskDefinition for a blue/green
// deployment of image, as CodePipeline's CodeDeployToECS action creates it.
func (f *fakeAWS) deployment(id, image string) {
	f.deploymentOnPort(id, image, "3000")
	f.Answer(targetDescribeTD, map[string]any{"taskDefinition": map[string]any{
		"family": "orders-service", "revision": 7,
		"containerDefinitions": []any{
			map[string]any{"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"},
			map[string]any{"name": "api", "image": image},
		},
	}})
}

func (f *fakeAWS) deploymentOnPort(id, image, port string) {
	appspec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n" +
		"        TaskDefinition: \"" + taskDefinitionARN + "\"\n" +
		"        LoadBalancerInfo:\n          ContainerName: \"api\"\n          ContainerPort: " + port + "\n"
	f.Answer(targetGetDeployment, map[string]any{"deploymentInfo": map[string]any{
		"deploymentId": id, "applicationName": "orders-service", "deploymentGroupName": "production",
		"computePlatform": "ECS", "status": "InProgress",
		"revision": map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"content": appspec}},
	}})
}

// replacementTask answers ListTasks and DescribeTasks with two running tasks of
// the service: the original's (another task definition) and the replacement's,
// whose network interface has url's address; the appspec names url's port.
func (f *fakeAWS) replacementTask(id, url string) {
	host, port, _ := strings.Cut(strings.TrimPrefix(url, "http://"), ":")
	f.deploymentOnPort(id, "repo/orders-service:abc1234", port)
	task := func(arn, td, ip string) map[string]any {
		return map[string]any{
			"taskArn": arn, "taskDefinitionArn": td, "lastStatus": "RUNNING", "startedBy": "ecs-svc/123",
			"attachments": []any{map[string]any{"type": "ElasticNetworkInterface", "status": "ATTACHED", "details": []any{
				map[string]any{"name": "subnetId", "value": "subnet-0123"},
				map[string]any{"name": "privateIPv4Address", "value": ip},
			}}},
		}
	}
	arns := []any{"arn:aws:ecs:eu-west-1:123456789012:task/production/blue", "arn:aws:ecs:eu-west-1:123456789012:task/production/green"}
	f.Answer(targetListTasks, map[string]any{"taskArns": arns})
	f.Answer(targetDescribeTasks, map[string]any{"tasks": []any{
		task(arns[0].(string), "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:6", "192.0.2.10"),
		task(arns[1].(string), taskDefinitionARN, host),
	}})
}
