# The build projects of greenlight.yaml, their report groups and their logs.

locals {
  # What the stack adds to the projects that run docker: the example's
  # buildspec.yml pushes to IMAGE_REPO when REGISTRY_PUSH is set and builds the
  # image when GREENLIGHT_DOCKER is; AWS_ACCOUNT_ID fills the task definition.
  docker_environment = {
    IMAGE_REPO        = aws_ecr_repository.images.repository_url
    REGISTRY_PUSH     = "1"
    GREENLIGHT_DOCKER = "1"
  }

  report_groups = merge([
    for project, p in var.greenlight.build_projects : {
      for report, type in p.report_groups : "${project}-${report}" => { project = project, type = type }
    }
  ]...)
}

resource "aws_cloudwatch_log_group" "builds" {
  for_each          = var.greenlight.build_projects
  name              = "/codebuild/${each.key}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_codebuild_project" "project" {
  for_each       = var.greenlight.build_projects
  name           = each.key
  description    = "${each.value.buildspec} of ${var.greenlight.pipeline.name}"
  service_role   = aws_iam_role.service["build"].arn
  build_timeout  = each.value.timeout_in_minutes
  encryption_key = aws_kms_key.main.arn

  artifacts {
    type = "CODEPIPELINE"
  }

  source {
    type      = "CODEPIPELINE"
    buildspec = each.value.buildspec
  }

  environment {
    compute_type                = var.codebuild_compute_type
    image                       = var.codebuild_image
    type                        = "LINUX_CONTAINER"
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = each.value.privileged

    dynamic "environment_variable" {
      for_each = merge(
        { for v in each.value.environment_variables : v.name => { value = v.value, type = v.type } },
        { AWS_ACCOUNT_ID = { value = local.account_id, type = "PLAINTEXT" } },
        each.value.privileged ? { for k, v in local.docker_environment : k => { value = v, type = "PLAINTEXT" } } : {},
      )
      content {
        name  = environment_variable.key
        value = environment_variable.value.value
        type  = environment_variable.value.type
      }
    }
  }

  dynamic "cache" {
    for_each = each.value.cache ? [1] : []
    content {
      type     = "S3"
      location = "${aws_s3_bucket.artifacts.bucket}/cache/${each.key}"
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.builds[each.key].name
    }
  }

  tags = local.tags
}

# CodeBuild files a buildspec's report "unit-tests" of project P under the group
# "P-unit-tests": created here, the role needs no CreateReportGroup.
resource "aws_codebuild_report_group" "reports" {
  for_each       = local.report_groups
  name           = each.key
  type           = each.value.type
  delete_reports = true
  export_config {
    type = "NO_EXPORT"
  }
  tags = local.tags
}
