# The seed pipeline on AWS: CodePipeline (V2) -> CodeBuild -> ECS staging ->
# approval -> CodeDeploy blue/green on ECS Fargate, from the inputs greenlight.yaml
# renders. One file per concern; this one holds what they share.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name      = coalesce(var.name, var.greenlight.pipeline.name)
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  # The registry id of a private ECR repository is the account id: read from a
  # resource, it costs no API call at plan time (plans run without credentials).
  account_id = aws_ecr_repository.images.registry_id

  services     = var.greenlight.services
  blue_green   = one([for k, s in local.services : k if s.controller == "CODE_DEPLOY"])
  rolling      = one([for k, s in local.services : k if s.controller == "ECS"])
  applications = toset([for g in var.greenlight.deployment_groups : g.application])
  clusters     = toset([for s in local.services : s.cluster])

  execution_roles = toset([for s in local.services : s.task.execution_role_name])
  task_log_groups = toset(flatten([for s in local.services : s.task.log_groups]))

  production_url = coalesce(var.production_url, "https://${aws_lb.main.dns_name}")
  staging_url    = coalesce(var.staging_url, "https://${aws_lb.main.dns_name}:${var.staging_listener_port}")
  test_url       = "http://${aws_lb.main.dns_name}:${var.test_listener_port}"
  service_urls = merge(
    { (local.blue_green) = local.production_url },
    local.rolling == null ? {} : { (local.rolling) = local.staging_url },
  )

  tags = merge({ "greenlight:pipeline" = var.greenlight.pipeline.name }, var.tags)
}
