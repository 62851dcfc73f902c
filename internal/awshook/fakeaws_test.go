package awshook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// fakeAWS speaks the JSON 1.1 protocol of CodeDeploy and ECS on loopback, the way
// the SDK's serializers write it: POST /, the operation in X-Amz-Target.
type fakeAWS struct {
	t       *testing.T
	url     string
	cd      *codedeploy.Client // real SDK clients pointed at the fake
	ec      *ecs.Client
	mu      sync.Mutex
	calls   []call
	answers map[string]answer // by X-Amz-Target
}

type call struct {
	Target string
	Body   map[string]any
	At     time.Time
}

type answer struct {
	status int
	body   string
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
	f := &fakeAWS{t: t, answers: map[string]answer{
		targetPutStatus: {200, `{"lifecycleEventHookExecutionId":"hook-1"}`},
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")
	f.cd = codedeploy.New(codedeploy.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, HTTPClient: srv.Client()})
	f.ec = ecs.New(ecs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, HTTPClient: srv.Client()})
	return f
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		f.t.Errorf("%s %s: the JSON protocol POSTs to /", r.Method, r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		f.t.Errorf("%s: Content-Type %q", target, r.Header.Get("Content-Type"))
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/"):
		f.t.Errorf("%s: not signed with SigV4: %q", target, r.Header.Get("Authorization"))
	case json.Unmarshal(data, &body) != nil:
		f.t.Errorf("%s: body is not JSON: %s", target, data)
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{Target: target, Body: body, At: time.Now()})
	a, ok := f.answers[target]
	f.mu.Unlock()
	if !ok {
		a = answer{400, `{"__type":"UnknownOperationException","message":"not faked: ` + target + `"}`}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeAWS) answer(target string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[target] = answer{status, body}
}

func (f *fakeAWS) callsTo(target string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Target == target {
			out = append(out, c)
		}
	}
	return out
}

// deployment answers GetDeployment and DescribeTaskDefinition for a blue/green
// deployment of image, as CodePipeline's CodeDeployToECS action creates it.
func (f *fakeAWS) deployment(id, image string) {
	appspec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n" +
		"        TaskDefinition: \"arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:7\"\n" +
		"        LoadBalancerInfo:\n          ContainerName: \"api\"\n          ContainerPort: 3000\n"
	info, _ := json.Marshal(map[string]any{"deploymentInfo": map[string]any{
		"deploymentId": id, "applicationName": "orders-service", "deploymentGroupName": "production",
		"computePlatform": "ECS", "status": "InProgress",
		"revision": map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"content": appspec}},
	}})
	f.answer(targetGetDeployment, 200, string(info))
	td, _ := json.Marshal(map[string]any{"taskDefinition": map[string]any{
		"family": "orders-service", "revision": 7,
		"containerDefinitions": []any{
			map[string]any{"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"},
			map[string]any{"name": "api", "image": image},
		},
	}})
	f.answer(targetDescribeTD, 200, string(td))
}

// replacementTask answers ListTasks and DescribeTasks with two running tasks of
// the service: the original's (another task definition) and the replacement's,
// whose network interface has url's address; the appspec names url's port.
func (f *fakeAWS) replacementTask(url string) {
	host, port, _ := strings.Cut(strings.TrimPrefix(url, "http://"), ":")
	f.mu.Lock()
	gd := f.answers[targetGetDeployment]
	f.mu.Unlock()
	f.answer(targetGetDeployment, 200, strings.Replace(gd.body, `ContainerPort: 3000`, "ContainerPort: "+port, 1))
	task := func(arn, td, ip string) map[string]any {
		return map[string]any{
			"taskArn": arn, "taskDefinitionArn": td, "lastStatus": "RUNNING", "startedBy": "ecs-svc/123",
			"attachments": []any{map[string]any{"type": "ElasticNetworkInterface", "status": "ATTACHED", "details": []any{
				map[string]any{"name": "subnetId", "value": "subnet-0123"},
				map[string]any{"name": "privateIPv4Address", "value": ip},
			}}},
		}
	}
	arns := []string{"arn:aws:ecs:eu-west-1:123456789012:task/production/blue", "arn:aws:ecs:eu-west-1:123456789012:task/production/green"}
	list, _ := json.Marshal(map[string]any{"taskArns": arns})
	f.answer(targetListTasks, 200, string(list))
	tasks, _ := json.Marshal(map[string]any{"tasks": []any{
		task(arns[0], "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:6", "192.0.2.10"),
		task(arns[1], taskDefinitionARN, host),
	}})
	f.answer(targetDescribeTasks, 200, string(tasks))
}
