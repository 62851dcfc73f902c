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

# Extension point: the Slack notifier subscribes to aws_sns_topic.notifications,
# and greenlight.yaml's `notifications:` will set the event ids.
resource "aws_codestarnotifications_notification_rule" "pipeline" {
  name           = substr("${local.name}-pipeline", 0, 64)
  detail_type    = "FULL"
  resource       = aws_codepipeline.main.arn
  event_type_ids = var.notification_event_type_ids
  target {
    address = aws_sns_topic.notifications.arn
  }
  tags       = local.tags
  depends_on = [aws_sns_topic_policy.notifications]
}
