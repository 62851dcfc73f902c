package awshook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// revision is what the deployment deploys, as the command sees it.
type revision struct {
	application, group string
	taskDefinition     string // ARN
	image              string // of the container the load balancer reaches
	port               int    // the container port the load balancer reaches
}

// env is the revision for the command: on one machine a hook runs from the build
// it validates; here the package was built once, so the replacement's image (its
// tag is the version the build stamped) says which build must be serving.
func (r revision) env() []string {
	tag := ""
	if i := strings.LastIndex(r.image, ":"); i >= 0 && !strings.Contains(r.image[i:], "/") {
		tag = r.image[i+1:]
	}
	return []string{
		"GREENLIGHT_APPLICATION=" + r.application,
		"GREENLIGHT_DEPLOYMENT_GROUP=" + r.group,
		"GREENLIGHT_TASK_DEFINITION=" + r.taskDefinition,
		"GREENLIGHT_IMAGE=" + r.image,
		"GREENLIGHT_IMAGE_TAG=" + tag,
	}
}

// revision reads the deployment's appspec (CodePipeline passes it as content) and
// the task definition it names.
func (h *Handler) revision(ctx context.Context, deploymentID string) (revision, error) {
	out, err := h.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(deploymentID)})
	if err != nil {
		return revision{}, fmt.Errorf("get deployment %s: %w", deploymentID, err)
	}
	info := out.DeploymentInfo
	if info == nil || info.Revision == nil || info.Revision.AppSpecContent == nil || info.Revision.AppSpecContent.Content == nil {
		return revision{}, fmt.Errorf("deployment %s has no appspec content (not an ECS deployment?)", deploymentID)
	}
	app, err := manifest.ParseAppSpec("appspec of "+deploymentID, []byte(*info.Revision.AppSpecContent.Content))
	if err != nil {
		return revision{}, fmt.Errorf("deployment %s: %w", deploymentID, err)
	}
	target := app.Target()
	rev := revision{
		application: aws.ToString(info.ApplicationName), group: aws.ToString(info.DeploymentGroupName),
		taskDefinition: target.TaskDefinition, port: target.ContainerPort,
	}
	rev.image, err = h.image(ctx, rev.taskDefinition, target.ContainerName)
	return rev, err
}

func (h *Handler) image(ctx context.Context, taskDefinition, container string) (string, error) {
	out, err := h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDefinition)})
	if err != nil {
		return "", fmt.Errorf("describe task definition %s: %w", taskDefinition, err)
	}
	if out.TaskDefinition == nil {
		return "", errors.New("describe task definition " + taskDefinition + ": empty answer")
	}
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			return aws.ToString(c.Image), nil
		}
	}
	return "", fmt.Errorf("task definition %s has no container %q, which the appspec routes traffic to", taskDefinition, container)
}

// replacementURL is the address of a running task of the replacement: a task of
// the service that runs the deployment's task definition.
func (h *Handler) replacementURL(ctx context.Context, rev revision) (string, error) {
	if h.Cluster == "" || h.Service == "" {
		return "", errors.New("GREENLIGHT_ECS_CLUSTER and GREENLIGHT_ECS_SERVICE must name the service to find the replacement's task")
	}
	list, err := h.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(h.Cluster), ServiceName: aws.String(h.Service), DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil {
		return "", fmt.Errorf("list tasks of service %s: %w", h.Service, err)
	}
	if len(list.TaskArns) == 0 {
		return "", fmt.Errorf("service %s runs no task", h.Service)
	}
	tasks, err := h.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(h.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return "", fmt.Errorf("describe tasks of service %s: %w", h.Service, err)
	}
	for _, t := range tasks.Tasks {
		if aws.ToString(t.TaskDefinitionArn) != rev.taskDefinition || aws.ToString(t.LastStatus) != "RUNNING" {
			continue
		}
		if ip := privateIP(t.Attachments); ip != "" {
			return fmt.Sprintf("http://%s:%d", ip, rev.port), nil
		}
	}
	return "", fmt.Errorf("service %s runs no task of the replacement %s yet", h.Service, rev.taskDefinition)
}

// privateIP is the address of a Fargate task's network interface.
func privateIP(attachments []ecstypes.Attachment) string {
	for _, a := range attachments {
		if aws.ToString(a.Type) != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}
