# The appspec's lifecycle hooks: one Lambda function per function name, each
# running its hook's command from greenlight.yaml out of the hook package.

locals {
  # A function outlives its hook's timeout by this much, to report the result.
  hook_reserve_seconds = 10
}

resource "aws_cloudwatch_log_group" "hooks" {
  for_each          = var.greenlight.hooks
  name              = "/aws/lambda/${each.key}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_lambda_function" "hook" {
  for_each         = var.greenlight.hooks
  function_name    = each.key
  description      = "CodeDeploy lifecycle hook of ${var.greenlight.pipeline.name}: ${join(" ", each.value.command)}"
  role             = aws_iam_role.service["hooks"].arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.hook_package
  source_code_hash = fileexists(var.hook_package) ? filebase64sha256(var.hook_package) : null
  timeout          = each.value.timeout_seconds + local.hook_reserve_seconds
  memory_size      = 256

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.hooks.id]
  }

  # The environment of the hook's command, as greenlight gives it on one machine:
  # AfterInstall reaches the replacement's task directly (the function finds it in
  # the service), the later hooks the test listener, then production.
  environment {
    variables = {
      GREENLIGHT_HOOK_COMMAND    = jsonencode(each.value.command)
      GREENLIGHT_HOOK_TIMEOUT    = "${each.value.timeout_seconds}s"
      GREENLIGHT_LIFECYCLE_EVENT = each.value.lifecycle_event
      GREENLIGHT_ECS_CLUSTER     = aws_ecs_cluster.cluster[local.services[var.greenlight.deployment_groups[each.value.deployment_group].service].cluster].name
      GREENLIGHT_ECS_SERVICE     = var.greenlight.deployment_groups[each.value.deployment_group].service
      GREENLIGHT_TEST_URL        = local.test_url
      GREENLIGHT_PRODUCTION_URL  = local.production_url
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.hooks[each.key].name
  }

  lifecycle {
    precondition {
      condition     = fileexists(var.hook_package)
      error_message = "hook_package ${var.hook_package} does not exist: build it with go run ./deploy/aws/lambda/build -program dist/<program>=<its module directory> (see deploy/aws/README.md)."
    }
  }

  tags = local.tags
}
