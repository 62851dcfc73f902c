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
  # The CodeStar rules: "<rule>" on the pipeline for its CodePipeline events,
  # "<rule>/<application>" on each application for its CodeDeploy events.
  codestar_rules = merge(
    {
      for k, r in local.rules : k => {
        rule = k, name = "${local.name}-${k}", resource = aws_codepipeline.main.arn, event_type_ids = r.pipeline_event_type_ids
      } if length(r.pipeline_event_type_ids) > 0
    },
    merge([
      for k, r in local.rules : {
        for app in local.applications : "${k}/${app}" => {
          rule = k, name = "${local.name}-${k}-${app}", resource = aws_codedeploy_app.app[app].arn, event_type_ids = r.deployment_event_type_ids
        } if length(r.deployment_event_type_ids) > 0
      }
    ]...),
  )
  # The webhook URL sources of a rule's Slack targets, as the notifier reads them.
  slack_sources = {
    for k, r in local.slack_rules : k => [
      for s in r.slack : s.secrets_manager == null && s.parameter_store == null ? { secrets_manager = var.slack_webhook_secret, parameter_store = null } : { secrets_manager = s.secrets_manager, parameter_store = s.parameter_store }
    ]
  }
}

resource "aws_codestarnotifications_notification_rule" "rule" {
  for_each       = local.codestar_rules
  name           = substr(each.value.name, 0, 64)
  detail_type    = local.rules[each.value.rule].detail_type
  status         = local.rules[each.value.rule].status
  resource       = each.value.resource
  event_type_ids = each.value.event_type_ids
  # Its SNS topics, and the notifications topic for its Slack targets.
  dynamic "target" {
    for_each = toset(concat(length(local.rules[each.value.rule].slack) > 0 ? [aws_sns_topic.notifications.arn] : [], local.rules[each.value.rule].sns_topics))
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
      GREENLIGHT_SLACK_ROUTES = jsonencode({
        for k, r in aws_codestarnotifications_notification_rule.rule : r.arn => local.slack_sources[local.codestar_rules[k].rule] if contains(keys(local.slack_sources), local.codestar_rules[k].rule)
      })
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
