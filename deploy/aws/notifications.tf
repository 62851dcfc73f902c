# SNS topics for approval requests and pipeline notifications (encrypted with the
# stack's key), and the notification rule of the pipeline's events.

resource "aws_sns_topic" "approvals" {
  name              = "${local.name}-approvals"
  kms_master_key_id = aws_kms_key.main.arn
  tags              = local.tags
}

resource "aws_sns_topic_subscription" "approvals_email" {
  for_each  = toset(var.approval_emails)
  topic_arn = aws_sns_topic.approvals.arn
  protocol  = "email"
  endpoint  = each.key
}

resource "aws_sns_topic" "notifications" {
  name              = "${local.name}-notifications"
  kms_master_key_id = aws_kms_key.main.arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "notifications" {
  arn    = aws_sns_topic.notifications.arn
  policy = data.aws_iam_policy_document.notifications_topic.json
}

data "aws_iam_policy_document" "notifications_topic" {
  statement {
    sid       = "CodeStarNotificationsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
    principals {
      type        = "Service"
      identifiers = ["codestar-notifications.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# The notification rules of greenlight.yaml: a rule's CodePipeline events on the
# pipeline, its CodeDeploy events on each application, sent to its SNS topics
# and, when it has Slack targets, to the notifications topic the Slack notifier
# listens on.

locals {
  rules          = var.greenlight.notifications
  slack_rules    = { for k, r in local.rules : k => r if length(r.slack) > 0 }
  slack_notifier = length(local.slack_rules) > 0
  pipeline_rules = { for k, r in local.rules : k => r if length(r.pipeline_event_type_ids) > 0 }
  deployment_rules = merge([
    for k, r in local.rules : {
      for app in local.applications : "${k}/${app}" => merge(r, { rule = k, application = app }) if length(r.deployment_event_type_ids) > 0
    }
  ]...)
  # Where each rule sends: its SNS topics, and the notifications topic for Slack.
  rule_targets = { for k, r in local.rules : k => concat(length(r.slack) > 0 ? [aws_sns_topic.notifications.arn] : [], r.sns_topics) }
  # The webhook URL sources of a rule's Slack targets, as the notifier reads them.
  slack_sources = {
    for k, r in local.slack_rules : k => [
      for s in r.slack : s.secrets_manager == null && s.parameter_store == null ? { secrets_manager = var.slack_webhook_secret, parameter_store = null } : { secrets_manager = s.secrets_manager, parameter_store = s.parameter_store }
    ]
  }
}

resource "aws_codestarnotifications_notification_rule" "pipeline" {
  for_each       = local.pipeline_rules
  name           = substr("${local.name}-${each.key}", 0, 64)
  detail_type    = each.value.detail_type
  status         = each.value.status
  resource       = aws_codepipeline.main.arn
  event_type_ids = each.value.pipeline_event_type_ids
  dynamic "target" {
    for_each = toset(local.rule_targets[each.key])
    content {
      address = target.value
    }
  }
  tags       = local.tags
  depends_on = [aws_sns_topic_policy.notifications]
}

resource "aws_codestarnotifications_notification_rule" "deployments" {
  for_each       = local.deployment_rules
  name           = substr("${local.name}-${each.value.rule}-${each.value.application}", 0, 64)
  detail_type    = each.value.detail_type
  status         = each.value.status
  resource       = aws_codedeploy_app.app[each.value.application].arn
  event_type_ids = each.value.deployment_event_type_ids
  dynamic "target" {
    for_each = toset(local.rule_targets[each.value.rule])
    content {
      address = target.value
    }
  }
  tags       = local.tags
  depends_on = [aws_sns_topic_policy.notifications]
}

# --- The Slack notifier: SNS in, Block Kit out --------------------------------

resource "aws_cloudwatch_log_group" "notifier" {
  count             = local.slack_notifier ? 1 : 0
  name              = "/aws/lambda/${local.name}-slack-notifier"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_lambda_function" "notifier" {
  count            = local.slack_notifier ? 1 : 0
  function_name    = "${local.name}-slack-notifier"
  description      = "Posts the notification rules' messages of ${var.greenlight.pipeline.name} to Slack"
  role             = aws_iam_role.notifier[0].arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.notify_package
  source_code_hash = var.notify_package != null && fileexists(coalesce(var.notify_package, "-")) ? filebase64sha256(var.notify_package) : null
  timeout          = 30
  memory_size      = 128

  # Which webhooks each rule posts to, by the rule's ARN: the URLs themselves
  # stay in Secrets Manager or Parameter Store.
  environment {
    variables = {
      GREENLIGHT_SLACK_ROUTES = jsonencode(merge(
        { for k, r in aws_codestarnotifications_notification_rule.pipeline : r.arn => local.slack_sources[k] if contains(keys(local.slack_sources), k) },
        { for k, r in aws_codestarnotifications_notification_rule.deployments : r.arn => local.slack_sources[local.deployment_rules[k].rule] if contains(keys(local.slack_sources), local.deployment_rules[k].rule) },
      ))
      GREENLIGHT_CONSOLE_URL = "https://${local.region}.console.aws.amazon.com/codesuite/codepipeline/"
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.notifier[0].name
  }

  lifecycle {
    precondition {
      condition     = var.notify_package != null && fileexists(coalesce(var.notify_package, "-"))
      error_message = "notify_package ${coalesce(var.notify_package, "(unset)")} does not exist: greenlight.yaml's notifications have Slack targets; build it with go run ./deploy/aws/lambda/build (see deploy/aws/README.md)."
    }
    precondition {
      condition     = var.slack_webhook_secret != null || alltrue(flatten([for r in local.slack_rules : [for s in r.slack : s.secrets_manager != null || s.parameter_store != null]]))
      error_message = "A Slack target of greenlight.yaml reads its URL locally (env or file): set slack_webhook_secret to the Secrets Manager secret holding the webhook URL."
    }
  }

  tags = local.tags
}

resource "aws_sns_topic_subscription" "notifier" {
  count     = local.slack_notifier ? 1 : 0
  topic_arn = aws_sns_topic.notifications.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.notifier[0].arn
}

resource "aws_lambda_permission" "notifier" {
  count         = local.slack_notifier ? 1 : 0
  statement_id  = "NotificationsTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.notifier[0].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.notifications.arn
}
