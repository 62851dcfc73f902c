# CodeDeploy: the applications, the custom deployment configs and the blue/green
# deployment groups of greenlight.yaml.

resource "aws_codedeploy_app" "app" {
  for_each         = local.applications
  name             = each.key
  compute_platform = "ECS"
  tags             = local.tags
}

resource "aws_codedeploy_deployment_config" "custom" {
  for_each               = var.greenlight.deployment_configs
  deployment_config_name = each.key
  compute_platform       = "ECS"
  traffic_routing_config {
    type = each.value.type
    dynamic "time_based_canary" {
      for_each = each.value.type == "TimeBasedCanary" ? [1] : []
      content {
        percentage = each.value.percentage
        interval   = each.value.interval_in_minutes
      }
    }
    dynamic "time_based_linear" {
      for_each = each.value.type == "TimeBasedLinear" ? [1] : []
      content {
        percentage = each.value.percentage
        interval   = each.value.interval_in_minutes
      }
    }
  }
}

resource "aws_codedeploy_deployment_group" "group" {
  for_each               = var.greenlight.deployment_groups
  app_name               = aws_codedeploy_app.app[each.value.application].name
  deployment_group_name  = each.value.name
  service_role_arn       = aws_iam_role.service["deploy"].arn
  deployment_config_name = contains(keys(var.greenlight.deployment_configs), each.value.deployment_config) ? aws_codedeploy_deployment_config.custom[each.value.deployment_config].id : each.value.deployment_config

  ecs_service {
    cluster_name = aws_ecs_cluster.cluster[local.services[each.value.service].cluster].name
    service_name = aws_ecs_service.blue_green[each.value.service].name
  }

  deployment_style {
    deployment_option = "WITH_TRAFFIC_CONTROL"
    deployment_type   = "BLUE_GREEN"
  }

  blue_green_deployment_config {
    deployment_ready_option {
      action_on_timeout    = each.value.action_on_timeout
      wait_time_in_minutes = each.value.action_on_timeout == "STOP_DEPLOYMENT" ? each.value.wait_time_in_minutes : 0
    }
    terminate_blue_instances_on_deployment_success {
      action                           = "TERMINATE"
      termination_wait_time_in_minutes = each.value.termination_wait_time_in_minutes
    }
  }

  load_balancer_info {
    target_group_pair_info {
      prod_traffic_route {
        listener_arns = [aws_lb_listener.production.arn]
      }
      test_traffic_route {
        listener_arns = [aws_lb_listener.test.arn]
      }
      target_group {
        name = aws_lb_target_group.service["blue"].name
      }
      target_group {
        name = aws_lb_target_group.service["green"].name
      }
    }
  }

  auto_rollback_configuration {
    enabled = each.value.auto_rollback_enabled
    events  = each.value.auto_rollback_events
  }

  dynamic "alarm_configuration" {
    for_each = length(each.value.alarms) > 0 ? [1] : []
    content {
      enabled = each.value.alarms_enabled
      alarms  = [for a in each.value.alarms : aws_cloudwatch_metric_alarm.alarm[a].alarm_name]
    }
  }

  tags = local.tags
}
