# The stack with the orders-service example's rendered greenlight.yaml, applied
# against a mock AWS provider (no network, no credentials): the pipeline, the
# deployment group, the alarms and the notification rule carry greenlight.yaml's
# values. Run from deploy/aws: terraform test -var hook_package=PATH.zip -var notify_package=PATH.zip

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      registry_id    = "123456789012"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-service"
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/orders-service"
    }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/orders-service/0123456789abcdef"
      arn_suffix = "app/orders-service/0123456789abcdef"
      dns_name   = "orders-service-123.eu-west-1.elb.amazonaws.com"
    }
  }
  mock_resource "aws_codestarconnections_connection" {
    defaults = { arn = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:orders-service-topic" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/orders-service-role" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::orders-service-artifacts-0000", bucket = "orders-service-artifacts-0000" }
  }
  mock_resource "aws_codepipeline" {
    defaults = { arn = "arn:aws:codepipeline:eu-west-1:123456789012:orders-service" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/orders-service" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-service/0123456789abcdef" }
  }
  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/orders-service/0123456789abcdef/0123456789abcdef" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:orders-service" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:1" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-service-hook" }
  }
  mock_resource "aws_codestarnotifications_notification_rule" {
    defaults = { arn = "arn:aws:codestar-notifications:eu-west-1:123456789012:notificationrule/0123abcd" }
  }
}

variables {
  greenlight                = jsondecode(file("examples/orders-service/greenlight.auto.tfvars.json")).greenlight
  repository                = "myorg/orders-service"
  certificate_arn           = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  vpc_id                    = "vpc-0123456789abcdef0"
  public_subnet_ids         = ["subnet-00000000000000001", "subnet-00000000000000002"]
  private_subnet_ids        = ["subnet-00000000000000003", "subnet-00000000000000004"]
  test_listener_cidr_blocks = ["203.0.113.7/32"]
  slack_webhook_secret      = "orders-service/slack-webhook"
}

run "pipeline_is_greenlight_yaml" {
  assert {
    condition = (
      length(aws_codepipeline.main.trigger) == 1 &&
      aws_codepipeline.main.trigger[0].provider_type == "CodeStarSourceConnection" &&
      aws_codepipeline.main.trigger[0].git_configuration[0].source_action_name == "Source" &&
      aws_codepipeline.main.trigger[0].git_configuration[0].push[0].branches[0].includes == tolist(["main"]) &&
      aws_codepipeline.main.trigger[0].git_configuration[0].push[0].file_paths[0].excludes == tolist(["*.md", "**/*.md"]) &&
      aws_codepipeline.main.trigger[0].git_configuration[0].push[1].tags[0].includes == tolist(["v*"])
    )
    error_message = "The trigger is not greenlight.yaml's: ${jsonencode(aws_codepipeline.main.trigger)}"
  }
  assert {
    condition     = aws_codepipeline.main.name == "orders-service" && aws_codepipeline.main.pipeline_type == "V2" && aws_codepipeline.main.execution_mode == "SUPERSEDED"
    error_message = "The pipeline is not orders-service, V2, SUPERSEDED."
  }
  assert {
    condition     = [for s in aws_codepipeline.main.stage : s.name] == ["Source", "Build", "Test", "DeployStaging", "Approval", "DeployProduction"]
    error_message = "Stages: ${jsonencode([for s in aws_codepipeline.main.stage : s.name])}"
  }
  assert {
    condition = (
      aws_codepipeline.main.stage[0].action[0].provider == "CodeStarSourceConnection" &&
      aws_codepipeline.main.stage[0].action[0].configuration.BranchName == "main" &&
      aws_codepipeline.main.stage[0].action[0].configuration.FullRepositoryId == "myorg/orders-service" &&
      aws_codepipeline.main.stage[0].action[0].configuration.ConnectionArn == aws_codestarconnections_connection.github[0].arn &&
      aws_codepipeline.main.stage[0].action[0].namespace == "SourceVariables" &&
      aws_codepipeline.main.stage[0].action[0].output_artifacts == tolist(["source_output"])
    )
    error_message = "The source action is not the GitHub branch main through the connection: ${jsonencode(aws_codepipeline.main.stage[0].action[0])}"
  }
  assert {
    condition = (
      aws_codepipeline.main.stage[1].action[0].configuration.ProjectName == "orders-service-build" &&
      aws_codepipeline.main.stage[1].action[0].namespace == "BuildVariables" &&
      aws_codepipeline.main.stage[1].action[0].output_artifacts == tolist(["build_output"])
    )
    error_message = "The build action: ${jsonencode(aws_codepipeline.main.stage[1].action[0])}"
  }
  assert {
    condition = (
      [for a in aws_codepipeline.main.stage[2].action : a.name] == ["UnitTests", "IntegrationTests"] &&
      [for a in aws_codepipeline.main.stage[2].action : a.run_order] == [1, 2] &&
      [for a in aws_codepipeline.main.stage[2].action : a.category] == ["Test", "Test"] &&
      [for a in aws_codepipeline.main.stage[2].action : a.configuration.ProjectName] == ["orders-service-test", "orders-service-integration"]
    )
    error_message = "The test stage: ${jsonencode(aws_codepipeline.main.stage[2].action)}"
  }
  assert {
    condition = (
      aws_codepipeline.main.stage[3].action[0].provider == "ECS" &&
      aws_codepipeline.main.stage[3].action[0].configuration.ClusterName == "staging" &&
      aws_codepipeline.main.stage[3].action[0].configuration.ServiceName == "orders-service-staging" &&
      aws_codepipeline.main.stage[3].action[0].configuration.FileName == "imagedefinitions.json"
    )
    error_message = "The staging deploy: ${jsonencode(aws_codepipeline.main.stage[3].action[0])}"
  }
  assert {
    condition = (
      aws_codepipeline.main.stage[4].action[0].configuration.CustomData == "Please review staging (orders-service #{BuildVariables.IMAGE_TAG}, commit #{SourceVariables.CommitId}) before production" &&
      aws_codepipeline.main.stage[4].action[0].configuration.NotificationArn == aws_sns_topic.approvals.arn &&
      aws_codepipeline.main.stage[4].action[0].configuration.ExternalEntityLink == "https://orders-service-123.eu-west-1.elb.amazonaws.com:8443/version"
    )
    error_message = "The approval: ${jsonencode(aws_codepipeline.main.stage[4].action[0])}"
  }
  assert {
    condition = (
      aws_codepipeline.main.stage[5].action[0].provider == "CodeDeployToECS" &&
      aws_codepipeline.main.stage[5].action[0].configuration.ApplicationName == "orders-service" &&
      aws_codepipeline.main.stage[5].action[0].configuration.DeploymentGroupName == "production" &&
      aws_codepipeline.main.stage[5].action[0].configuration.TaskDefinitionTemplatePath == "taskdef.json" &&
      aws_codepipeline.main.stage[5].action[0].configuration.AppSpecTemplatePath == "appspec.yaml" &&
      aws_codepipeline.main.stage[5].action[0].configuration.TaskDefinitionTemplateArtifact == "build_output"
    )
    error_message = "The production deploy: ${jsonencode(aws_codepipeline.main.stage[5].action[0])}"
  }
}

run "deployment_group_is_greenlight_yaml" {
  assert {
    condition = (
      aws_codedeploy_deployment_group.group["orders-service/production"].app_name == "orders-service" &&
      aws_codedeploy_deployment_group.group["orders-service/production"].deployment_group_name == "production" &&
      aws_codedeploy_deployment_group.group["orders-service/production"].deployment_config_name == "CodeDeployDefault.ECSAllAtOnce"
    )
    error_message = "The deployment group's name or config differ from greenlight.yaml."
  }
  assert {
    condition = (
      aws_codedeploy_deployment_group.group["orders-service/production"].blue_green_deployment_config[0].deployment_ready_option[0].action_on_timeout == "CONTINUE_DEPLOYMENT" &&
      aws_codedeploy_deployment_group.group["orders-service/production"].blue_green_deployment_config[0].terminate_blue_instances_on_deployment_success[0].action == "TERMINATE" &&
      aws_codedeploy_deployment_group.group["orders-service/production"].blue_green_deployment_config[0].terminate_blue_instances_on_deployment_success[0].termination_wait_time_in_minutes == 60
    )
    error_message = "Ready option or termination wait: ${jsonencode(aws_codedeploy_deployment_group.group["orders-service/production"].blue_green_deployment_config)}"
  }
  assert {
    condition = (
      aws_codedeploy_deployment_group.group["orders-service/production"].auto_rollback_configuration[0].enabled &&
      aws_codedeploy_deployment_group.group["orders-service/production"].auto_rollback_configuration[0].events == toset(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]) &&
      aws_codedeploy_deployment_group.group["orders-service/production"].alarm_configuration[0].enabled &&
      aws_codedeploy_deployment_group.group["orders-service/production"].alarm_configuration[0].alarms == toset(["orders-error-rate", "orders-p99-latency"])
    )
    error_message = "Auto-rollback or alarms differ from greenlight.yaml."
  }
  assert {
    condition = (
      aws_codedeploy_deployment_group.group["orders-service/production"].ecs_service[0].service_name == "orders-service-production" &&
      aws_codedeploy_deployment_group.group["orders-service/production"].ecs_service[0].cluster_name == "production" &&
      aws_codedeploy_deployment_group.group["orders-service/production"].deployment_style[0].deployment_type == "BLUE_GREEN"
    )
    error_message = "The deployment group does not deploy orders-service-production blue/green."
  }
  assert {
    condition = (
      aws_ecs_service.blue_green["orders-service-production"].deployment_controller[0].type == "CODE_DEPLOY" &&
      aws_ecs_service.rolling["orders-service-staging"].deployment_controller[0].type == "ECS" &&
      aws_lb_target_group.service["blue"].health_check[0].path == "/health" && aws_lb_target_group.service["blue"].health_check[0].matcher == "200" &&
      aws_lb_target_group.service["green"].deregistration_delay == "5"
    )
    error_message = "The services or target groups differ from greenlight.yaml."
  }
}

run "alarms_are_greenlight_yaml" {
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].threshold == 5 &&
      aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].evaluation_periods == 3 &&
      aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].datapoints_to_alarm == 2 &&
      aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].treat_missing_data == "notBreaching"
    )
    error_message = "The error-rate alarm's thresholds differ from greenlight.yaml."
  }
  assert {
    condition = (
      toset([for q in aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].metric_query : q.id]) == toset(["errors", "requests", "rate"]) &&
      [for q in aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].metric_query : q.expression if q.return_data] == ["100 * errors / requests"] &&
      jsonencode({ for q in aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].metric_query : q.id => [q.metric[0].metric_name, q.metric[0].stat, q.metric[0].period] if length(q.metric) > 0 }) == jsonencode({ errors = ["HTTPCode_Target_5XX_Count", "Sum", 60], requests = ["RequestCount", "Sum", 60] })
    )
    error_message = "The error-rate alarm's metric math: ${jsonencode(aws_cloudwatch_metric_alarm.alarm["orders-error-rate"].metric_query)}"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.alarm["orders-p99-latency"].metric_name == "TargetResponseTime" &&
      aws_cloudwatch_metric_alarm.alarm["orders-p99-latency"].extended_statistic == "p99" &&
      aws_cloudwatch_metric_alarm.alarm["orders-p99-latency"].namespace == "AWS/ApplicationELB" &&
      aws_cloudwatch_metric_alarm.alarm["orders-p99-latency"].dimensions.LoadBalancer == "app/orders-service/0123456789abcdef" &&
      aws_cloudwatch_metric_alarm.alarm["orders-p99-latency"].threshold == 0.5 &&
      aws_cloudwatch_metric_alarm.alarm["orders-p99-latency"].evaluation_periods == 3 &&
      aws_cloudwatch_metric_alarm.alarm["orders-p99-latency"].datapoints_to_alarm == 3
    )
    error_message = "The latency alarm differs from greenlight.yaml."
  }
}

run "notification_rule_and_hooks" {
  assert {
    condition = (
      aws_codestarnotifications_notification_rule.rule["releases"].resource == aws_codepipeline.main.arn &&
      aws_codestarnotifications_notification_rule.rule["releases"].detail_type == "FULL" &&
      aws_codestarnotifications_notification_rule.rule["releases"].status == "ENABLED" &&
      aws_codestarnotifications_notification_rule.rule["releases"].event_type_ids == toset([
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-pipeline-execution-succeeded",
        "codepipeline-pipeline-manual-approval-needed",
      ]) &&
      [for t in aws_codestarnotifications_notification_rule.rule["releases"].target : t.address] == [aws_sns_topic.notifications.arn] &&
      keys(aws_codestarnotifications_notification_rule.rule) == ["releases"]
    )
    error_message = "The notification rule is not greenlight.yaml's releases rule (its CodePipeline events, to the notifications topic)."
  }
  assert {
    condition = (
      aws_lambda_function.notifier[0].runtime == "provided.al2023" && aws_lambda_function.notifier[0].architectures == tolist(["arm64"]) &&
      jsondecode(aws_lambda_function.notifier[0].environment[0].variables.GREENLIGHT_SLACK_ROUTES) == {
        "arn:aws:codestar-notifications:eu-west-1:123456789012:notificationrule/0123abcd" = [{ secrets_manager = "orders-service/slack-webhook", parameter_store = null }]
      } &&
      aws_sns_topic_subscription.notifier[0].topic_arn == aws_sns_topic.notifications.arn &&
      aws_sns_topic_subscription.notifier[0].protocol == "lambda" &&
      aws_lambda_permission.notifier[0].principal == "sns.amazonaws.com" &&
      aws_lambda_permission.notifier[0].source_arn == aws_sns_topic.notifications.arn
    )
    error_message = "The Slack notifier does not read the releases rule's webhook from the slack_webhook_secret, subscribed to the notifications topic."
  }
  assert {
    condition = (
      toset(keys(aws_lambda_function.hook)) == toset(["LambdaFunctionToValidateBeforeInstall", "LambdaFunctionToValidateAfterInstall", "LambdaFunctionToValidateAfterTestTraffic", "LambdaFunctionToValidateBeforeTraffic", "LambdaFunctionToValidateAfterTraffic"]) &&
      alltrue([for f in aws_lambda_function.hook : f.runtime == "provided.al2023" && f.architectures == tolist(["arm64"]) && f.handler == "bootstrap"])
    )
    error_message = "The hook functions are not the appspec's five, on provided.al2023 arm64."
  }
  assert {
    condition = (
      jsondecode(aws_lambda_function.hook["LambdaFunctionToValidateBeforeTraffic"].environment[0].variables.GREENLIGHT_HOOK_COMMAND) == ["./dist/orders-service", "smoke", "-url-env", "GREENLIGHT_TEST_URL", "-expect-version", "self", "-rounds", "1"] &&
      aws_lambda_function.hook["LambdaFunctionToValidateBeforeTraffic"].environment[0].variables.GREENLIGHT_HOOK_TIMEOUT == "30s" &&
      aws_lambda_function.hook["LambdaFunctionToValidateBeforeTraffic"].timeout == 40 &&
      aws_lambda_function.hook["LambdaFunctionToValidateBeforeTraffic"].environment[0].variables.GREENLIGHT_TEST_URL == "http://orders-service-123.eu-west-1.elb.amazonaws.com:9000" &&
      aws_lambda_function.hook["LambdaFunctionToValidateAfterInstall"].environment[0].variables.GREENLIGHT_LIFECYCLE_EVENT == "AfterInstall" &&
      aws_lambda_function.hook["LambdaFunctionToValidateAfterInstall"].environment[0].variables.GREENLIGHT_ECS_SERVICE == "orders-service-production" &&
      aws_lambda_function.hook["LambdaFunctionToValidateAfterInstall"].environment[0].variables.GREENLIGHT_ECS_CLUSTER == "production"
    )
    error_message = "The BeforeTraffic hook does not run greenlight.yaml's command against the test listener."
  }
  assert {
    condition = (
      aws_codebuild_project.project["orders-service-build"].environment[0].privileged_mode &&
      !aws_codebuild_project.project["orders-service-test"].environment[0].privileged_mode &&
      aws_codebuild_project.project["orders-service-build"].build_timeout == 15 &&
      aws_codebuild_project.project["orders-service-test"].source[0].buildspec == "buildspec-test.yml"
    )
    error_message = "The build projects differ from greenlight.yaml."
  }
}

# The module's own checks refuse a definition it cannot serve.
run "refuses_two_blue_green_services" {
  command = plan
  variables {
    greenlight = merge(jsondecode(file("examples/orders-service/greenlight.auto.tfvars.json")).greenlight, {
      services = {
        for k, s in jsondecode(file("examples/orders-service/greenlight.auto.tfvars.json")).greenlight.services : k => merge(s, { controller = "CODE_DEPLOY" })
      }
    })
  }
  expect_failures = [var.greenlight]
}
