# The pipeline, stage for stage and action for action as greenlight.yaml declares
# it. Configuration values that name resources of this stack arrive as
# configuration_refs and are resolved here, so that the pipeline depends on them.

locals {
  refs = {
    connection       = { "" = local.connection_arn }
    repository       = { "" = var.repository }
    build_project    = { for k, p in aws_codebuild_project.project : k => p.name }
    cluster          = { for k, c in aws_ecs_cluster.cluster : k => c.name }
    service          = merge({ for k, s in aws_ecs_service.rolling : k => s.name }, { for k, s in aws_ecs_service.blue_green : k => s.name })
    application      = { for k, a in aws_codedeploy_app.app : k => a.name }
    deployment_group = { for k, g in aws_codedeploy_deployment_group.group : k => g.deployment_group_name }
    approval_topic   = { "" = aws_sns_topic.approvals.arn }
    service_url      = local.service_urls
  }
}

resource "aws_codepipeline" "main" {
  name           = var.greenlight.pipeline.name
  pipeline_type  = "V2"
  execution_mode = var.greenlight.pipeline.execution_mode
  role_arn       = aws_iam_role.service["pipeline"].arn

  artifact_store {
    location = aws_s3_bucket.artifacts.bucket
    type     = "S3"
    encryption_key {
      id   = aws_kms_key.main.arn
      type = "KMS"
    }
  }

  dynamic "variable" {
    for_each = var.greenlight.pipeline.variables
    content {
      name          = variable.value.name
      default_value = variable.value.default_value
      description   = variable.value.description
    }
  }

  dynamic "stage" {
    for_each = var.greenlight.pipeline.stages
    content {
      name = stage.value.name
      dynamic "action" {
        for_each = stage.value.actions
        content {
          name               = action.value.name
          category           = action.value.category
          owner              = action.value.owner
          provider           = action.value.provider
          version            = action.value.version
          run_order          = action.value.run_order
          input_artifacts    = action.value.input_artifacts
          output_artifacts   = action.value.output_artifacts
          namespace          = action.value.namespace
          timeout_in_minutes = action.value.timeout_in_minutes
          configuration = merge(action.value.configuration, {
            for key, ref in action.value.configuration_refs : key => "${local.refs[ref.ref][ref.name]}${ref.suffix}"
          })
        }
      }
    }
  }

  # The provider takes no empty pattern list: an empty one is left out.
  dynamic "trigger" {
    for_each = var.greenlight.pipeline.triggers
    content {
      provider_type = "CodeStarSourceConnection"
      git_configuration {
        source_action_name = trigger.value.source_action_name
        dynamic "push" {
          for_each = trigger.value.push
          content {
            dynamic "branches" {
              for_each = push.value.branches == null ? [] : [push.value.branches]
              content {
                includes = length(branches.value.includes) > 0 ? branches.value.includes : null
                excludes = length(branches.value.excludes) > 0 ? branches.value.excludes : null
              }
            }
            dynamic "file_paths" {
              for_each = push.value.file_paths == null ? [] : [push.value.file_paths]
              content {
                includes = length(file_paths.value.includes) > 0 ? file_paths.value.includes : null
                excludes = length(file_paths.value.excludes) > 0 ? file_paths.value.excludes : null
              }
            }
            dynamic "tags" {
              for_each = push.value.tags == null ? [] : [push.value.tags]
              content {
                includes = length(tags.value.includes) > 0 ? tags.value.includes : null
                excludes = length(tags.value.excludes) > 0 ? tags.value.excludes : null
              }
            }
          }
        }
        dynamic "pull_request" {
          for_each = trigger.value.pull_request
          content {
            events = length(pull_request.value.events) > 0 ? pull_request.value.events : null
            dynamic "branches" {
              for_each = pull_request.value.branches == null ? [] : [pull_request.value.branches]
              content {
                includes = length(branches.value.includes) > 0 ? branches.value.includes : null
                excludes = length(branches.value.excludes) > 0 ? branches.value.excludes : null
              }
            }
            dynamic "file_paths" {
              for_each = pull_request.value.file_paths == null ? [] : [pull_request.value.file_paths]
              content {
                includes = length(file_paths.value.includes) > 0 ? file_paths.value.includes : null
                excludes = length(file_paths.value.excludes) > 0 ? file_paths.value.excludes : null
              }
            }
          }
        }
      }
    }
  }

  tags = local.tags
}
