output "pipeline_name" {
  description = "The CodePipeline pipeline (greenlight.yaml's pipeline.name)."
  value       = aws_codepipeline.main.name
}

output "pipeline_arn" {
  description = "ARN of the pipeline."
  value       = aws_codepipeline.main.arn
}

output "connection_arn" {
  description = "The GitHub connection. A connection the stack creates stays PENDING until you authorize it once in the console (Developer Tools > Settings > Connections)."
  value       = local.connection_arn
}

output "ecr_repository_url" {
  description = "Where the build pushes images (the build projects' IMAGE_REPO)."
  value       = aws_ecr_repository.images.repository_url
}

output "artifact_bucket" {
  description = "S3 bucket of the pipeline's artifacts and the build cache (KMS-encrypted, versioned, private)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "kms_key_arn" {
  description = "The customer-managed key of the artifacts and the topics."
  value       = aws_kms_key.main.arn
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer: point your production and staging names at it (CNAME or alias)."
  value       = aws_lb.main.dns_name
}

output "production_url" {
  description = "Production, on the HTTPS listener."
  value       = local.production_url
}

output "staging_url" {
  description = "Staging, on the staging listener (null without an ECS-deployed service)."
  value       = local.rolling == null ? null : local.staging_url
}

output "test_url" {
  description = "The test listener CodeDeploy routes to the replacement during a deployment."
  value       = local.test_url
}

output "clusters" {
  description = "ECS cluster of each service."
  value       = { for k, s in local.services : k => aws_ecs_cluster.cluster[s.cluster].name }
}

output "deployment_groups" {
  description = "CodeDeploy application and deployment group of each greenlight.yaml deployment group (application/group)."
  value       = { for k, g in aws_codedeploy_deployment_group.group : k => { application = g.app_name, deployment_group = g.deployment_group_name } }
}

output "alarm_names" {
  description = "The CloudWatch alarms of greenlight.yaml."
  value       = [for a in aws_cloudwatch_metric_alarm.alarm : a.alarm_name]
}

output "hook_functions" {
  description = "Lambda function of each appspec hook function name."
  value       = { for k, f in aws_lambda_function.hook : k => f.arn }
}

output "approvals_topic_arn" {
  description = "SNS topic of approval requests (subscribe reviewers to it)."
  value       = aws_sns_topic.approvals.arn
}

output "notifications_topic_arn" {
  description = "SNS topic of the notification rules with Slack targets (the Slack notifier subscribes here)."
  value       = aws_sns_topic.notifications.arn
}

output "notification_rules" {
  description = "ARN of each CodeStar notification rule: greenlight.yaml's rule name, and rule/application for its CodeDeploy events."
  value       = { for k, r in aws_codestarnotifications_notification_rule.rule : k => r.arn }
}

output "slack_notifier_function" {
  description = "The Slack notifier's Lambda function (null without Slack targets)."
  value       = one(aws_lambda_function.notifier[*].function_name)
}
