# One role per service, each allowed only what it does, on this stack's resources.

locals {
  arn_prefix               = "arn:${local.partition}"
  task_execution_role_arns = [for r in aws_iam_role.task_execution : r.arn]
  deployment_group_arns = [
    for g in var.greenlight.deployment_groups :
    "${local.arn_prefix}:codedeploy:${local.region}:${local.account_id}:deploymentgroup:${g.application}/${g.name}"
  ]
  deployment_config_arns = [
    for g in var.greenlight.deployment_groups :
    "${local.arn_prefix}:codedeploy:${local.region}:${local.account_id}:deploymentconfig:${g.deployment_config}"
  ]
  application_arns      = [for a in aws_codedeploy_app.app : a.arn]
  service_arns          = concat([for s in aws_ecs_service.rolling : s.id], [for s in aws_ecs_service.blue_green : s.id])
  build_parameter_names = distinct(flatten([for p in var.greenlight.build_projects : p.parameters]))
  build_secret_ids      = distinct(flatten([for p in var.greenlight.build_projects : p.secrets]))
  parameter_arns        = [for name in local.build_parameter_names : local.parameter_arn[name]]
  secret_arns           = [for id in local.build_secret_ids : local.secret_arn[id]]
  # The ARN of each parameter and secret a role reads, by the name it is given.
  parameter_arn = {
    for name in distinct(concat(local.build_parameter_names, local.notifier_parameter_names)) :
    name => startswith(name, "arn:") ? name : "${local.arn_prefix}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(name, "/")}"
  }
  # Secrets Manager appends a random suffix to a secret's name in its ARN.
  secret_arn = {
    for id in distinct(concat(local.build_secret_ids, local.notifier_secret_ids)) :
    id => startswith(id, "arn:") ? id : "${local.arn_prefix}:secretsmanager:${local.region}:${local.account_id}:secret:${id}-??????"
  }
}

# The roles of the services, by the principal that assumes them, each with its one
# policy below. Two maps: the policies name resources that use the roles.
locals {
  service_principals = { pipeline = "codepipeline", build = "codebuild", deploy = "codedeploy", hooks = "lambda" }
  service_policies = {
    pipeline = data.aws_iam_policy_document.codepipeline.json
    build    = data.aws_iam_policy_document.codebuild.json
    deploy   = data.aws_iam_policy_document.codedeploy.json
    hooks    = data.aws_iam_policy_document.hooks.json
  }
}

resource "aws_iam_role" "service" {
  for_each           = local.service_principals
  name_prefix        = "${local.name}-${each.key}-"
  assume_role_policy = data.aws_iam_policy_document.assume[each.value].json
  tags               = local.tags
}

resource "aws_iam_role_policy" "service" {
  for_each = local.service_principals
  name     = each.key
  role     = aws_iam_role.service[each.key].id
  policy   = local.service_policies[each.key]
}

data "aws_iam_policy_document" "assume" {
  for_each = toset(["codepipeline", "codebuild", "codedeploy", "ecs-tasks", "lambda"])
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["${each.key}.amazonaws.com"]
    }
  }
}

# --- Artifacts: the pipeline and the builds read and write them ---------------

data "aws_iam_policy_document" "artifacts" {
  statement {
    sid       = "Artifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }
  statement {
    sid       = "ArtifactBucket"
    actions   = ["s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:GetBucketAcl"]
    resources = [aws_s3_bucket.artifacts.arn]
  }
  statement {
    sid       = "ArtifactKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
}

# --- CodePipeline -------------------------------------------------------------

data "aws_iam_policy_document" "codepipeline" {
  source_policy_documents = [data.aws_iam_policy_document.artifacts.json]

  statement {
    sid       = "Source"
    actions   = ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
    resources = [local.connection_arn]
  }
  statement {
    sid       = "Builds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"]
    resources = [for p in aws_codebuild_project.project : p.arn]
  }
  statement {
    sid       = "StagingService"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = local.service_arns
  }
  # RegisterTaskDefinition, DescribeTaskDefinition, DescribeTasks and ListTasks
  # support no resource-level permissions: AWS requires "*" for them.
  statement {
    sid       = "TaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:DescribeTasks", "ecs:ListTasks"]
    resources = ["*"]
  }
  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = local.task_execution_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
  statement {
    sid       = "Deployments"
    actions   = ["codedeploy:CreateDeployment", "codedeploy:GetDeployment"]
    resources = local.deployment_group_arns
  }
  statement {
    sid       = "DeploymentApplications"
    actions   = ["codedeploy:GetApplication", "codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision"]
    resources = local.application_arns
  }
  statement {
    sid       = "DeploymentConfigs"
    actions   = ["codedeploy:GetDeploymentConfig"]
    resources = local.deployment_config_arns
  }
  statement {
    sid       = "ApprovalRequests"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.approvals.arn]
  }
}

# --- CodeBuild ----------------------------------------------------------------

data "aws_iam_policy_document" "codebuild" {
  # The artifacts and the build cache (in the same bucket).
  source_policy_documents = [data.aws_iam_policy_document.artifacts.json]

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.builds : "${g.arn}:*"]
  }
  statement {
    sid       = "Reports"
    actions   = ["codebuild:CreateReport", "codebuild:UpdateReport", "codebuild:BatchPutTestCases", "codebuild:BatchPutCodeCoverages"]
    resources = length(aws_codebuild_report_group.reports) > 0 ? [for g in aws_codebuild_report_group.reports : g.arn] : ["${local.arn_prefix}:codebuild:${local.region}:${local.account_id}:report-group/${local.name}-none"]
  }
  # ecr:GetAuthorizationToken is account-wide: AWS requires "*" for it.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
    ]
    resources = [aws_ecr_repository.images.arn]
  }
  dynamic "statement" {
    for_each = length(local.parameter_arns) > 0 ? [1] : []
    content {
      sid       = "Parameters"
      actions   = ["ssm:GetParameters"]
      resources = local.parameter_arns
    }
  }
  dynamic "statement" {
    for_each = length(local.secret_arns) > 0 ? [1] : []
    content {
      sid       = "Secrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_arns
    }
  }
}

# --- CodeDeploy ---------------------------------------------------------------

data "aws_iam_policy_document" "codedeploy" {
  statement {
    sid     = "TaskSets"
    actions = ["ecs:DescribeServices", "ecs:CreateTaskSet", "ecs:UpdateServicePrimaryTaskSet", "ecs:DeleteTaskSet"]
    resources = concat(
      [for s in aws_ecs_service.blue_green : s.id],
      [for k, s in aws_ecs_service.blue_green : "${local.arn_prefix}:ecs:${local.region}:${local.account_id}:task-set/${local.services[k].cluster}/${k}/*"],
    )
  }
  # Elastic Load Balancing's Describe* actions support no resource-level
  # permissions: AWS requires "*" for them.
  statement {
    sid       = "DescribeLoadBalancing"
    actions   = ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetHealth"]
    resources = ["*"]
  }
  statement {
    sid       = "SwitchTraffic"
    actions   = ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"]
    resources = [aws_lb_listener.production.arn, aws_lb_listener.test.arn]
  }
  statement {
    sid       = "Hooks"
    actions   = ["lambda:InvokeFunction"]
    resources = length(aws_lambda_function.hook) > 0 ? [for f in aws_lambda_function.hook : f.arn] : ["${local.arn_prefix}:lambda:${local.region}:${local.account_id}:function:${local.name}-none"]
  }
  statement {
    sid       = "Alarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = length(aws_cloudwatch_metric_alarm.alarm) > 0 ? [for a in aws_cloudwatch_metric_alarm.alarm : a.arn] : ["${local.arn_prefix}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.name}-none"]
  }
  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = local.task_execution_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# --- ECS task execution (named as the task definition template names it) -------

resource "aws_iam_role" "task_execution" {
  for_each           = local.execution_roles
  name               = each.key
  assume_role_policy = data.aws_iam_policy_document.assume["ecs-tasks"].json
  tags               = local.tags
}

resource "aws_iam_role_policy" "task_execution" {
  for_each = local.execution_roles
  name     = "task-execution"
  role     = aws_iam_role.task_execution[each.key].id
  policy   = data.aws_iam_policy_document.task_execution.json
}

data "aws_iam_policy_document" "task_execution" {
  # ecr:GetAuthorizationToken is account-wide: AWS requires "*" for it.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "PullImages"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.images.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = length(aws_cloudwatch_log_group.tasks) > 0 ? [for g in aws_cloudwatch_log_group.tasks : "${g.arn}:*"] : ["${local.arn_prefix}:logs:${local.region}:${local.account_id}:log-group:${local.name}-none"]
  }
}

# --- Lifecycle hook functions -------------------------------------------------

data "aws_iam_policy_document" "hooks" {
  statement {
    sid       = "ReportHookStatus"
    actions   = ["codedeploy:PutLifecycleEventHookExecutionStatus", "codedeploy:GetDeployment"]
    resources = local.deployment_group_arns
  }
  # DescribeTaskDefinition and ListTasks support no resource-level permissions:
  # AWS requires "*" (ListTasks is held to the clusters by a condition).
  statement {
    sid       = "ReadRevision"
    actions   = ["ecs:DescribeTaskDefinition", "ecs:ListTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [for c in aws_ecs_cluster.cluster : c.arn]
    }
  }
  statement {
    sid       = "FindTheReplacement"
    actions   = ["ecs:DescribeTasks"]
    resources = [for c in aws_ecs_cluster.cluster : "${local.arn_prefix}:ecs:${local.region}:${local.account_id}:task/${c.name}/*"]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = length(aws_cloudwatch_log_group.hooks) > 0 ? [for g in aws_cloudwatch_log_group.hooks : "${g.arn}:*"] : ["${local.arn_prefix}:logs:${local.region}:${local.account_id}:log-group:${local.name}-none"]
  }
  # A function in a VPC manages its network interfaces, and EC2's network-interface
  # actions support no resource-level permissions: AWS requires "*" (its own
  # AWSLambdaVPCAccessExecutionRole policy grants them so).
  statement {
    sid       = "VpcNetworkInterfaces"
    actions   = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = ["*"]
  }
}

# --- The Slack notifier -------------------------------------------------------

locals {
  # The secrets and parameters the notifier reads webhook URLs from.
  notifier_secret_ids = distinct(compact(flatten([
    for r in local.slack_rules : [
      for s in r.slack : s.secrets_manager == null && s.parameter_store == null ? var.slack_webhook_secret : s.secret_id
    ]
  ])))
  notifier_secret_arns = [for id in local.notifier_secret_ids : local.secret_arn[id]]
  notifier_parameter_names = distinct(compact(flatten([
    for r in local.slack_rules : [for s in r.slack : s.parameter_store]
  ])))
  notifier_parameter_arns = [for name in local.notifier_parameter_names : local.parameter_arn[name]]
}

resource "aws_iam_role" "notifier" {
  count              = local.slack_notifier ? 1 : 0
  name_prefix        = "${local.name}-notifier-"
  assume_role_policy = data.aws_iam_policy_document.assume["lambda"].json
  tags               = local.tags
}

resource "aws_iam_role_policy" "notifier" {
  count  = local.slack_notifier ? 1 : 0
  name   = "notifier"
  role   = aws_iam_role.notifier[0].id
  policy = data.aws_iam_policy_document.notifier[0].json
}

data "aws_iam_policy_document" "notifier" {
  count = local.slack_notifier ? 1 : 0
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.notifier[0].arn}:*"]
  }
  dynamic "statement" {
    for_each = length(local.notifier_secret_arns) > 0 ? [1] : []
    content {
      sid       = "WebhookSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.notifier_secret_arns
    }
  }
  dynamic "statement" {
    for_each = length(local.notifier_parameter_arns) > 0 ? [1] : []
    content {
      sid       = "WebhookParameters"
      actions   = ["ssm:GetParameter"]
      resources = local.notifier_parameter_arns
    }
  }
}
