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
  role             = aws_iam_role.hooks.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.hook_package
  source_code_hash = filebase64sha256(var.hook_package)
  timeout          = each.value.timeout_seconds + local.hook_reserve_seconds
  memory_size      = 256

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.hooks.id]
  }

  environment {
    variables = {
      GREENLIGHT_HOOK_COMMAND   = jsonencode(each.value.command)
      GREENLIGHT_HOOK_TIMEOUT   = "${each.value.timeout_seconds}s"
      GREENLIGHT_TEST_URL       = local.test_url
      GREENLIGHT_PRODUCTION_URL = local.production_url
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.hooks[each.key].name
  }

  tags = local.tags
}
