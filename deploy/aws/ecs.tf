# ECS on Fargate: the clusters, the services (staging rolls, production is
# CodeDeploy's), their first task definitions and their logs.

resource "aws_ecs_cluster" "cluster" {
  for_each = local.clusters
  name     = each.key
  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }
  tags = local.tags
}

resource "aws_cloudwatch_log_group" "tasks" {
  for_each          = local.task_log_groups
  name              = each.key
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

# The first revision of each service's task definition, from the template the
# build also renders: its placeholders filled as buildspec.yml fills them, with the
# image the pipeline has not pushed yet. The pipeline registers every later one.
resource "aws_ecs_task_definition" "first" {
  for_each                 = local.services
  family                   = each.value.task.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.task.cpu
  memory                   = each.value.task.memory
  execution_role_arn       = aws_iam_role.task_execution[each.value.task.execution_role_name].arn
  container_definitions = replace(replace(replace(each.value.task.container_definitions,
    "$${IMAGE_URI}", "${aws_ecr_repository.images.repository_url}:${var.initial_image_tag}"),
    "$${AWS_ACCOUNT_ID}", local.account_id),
  "$${AWS_DEFAULT_REGION}", local.region)
  tags       = local.tags
  depends_on = [aws_cloudwatch_log_group.tasks]
}

# Staging: CodePipeline's ECS action registers a task definition and updates the
# service, so Terraform leaves the task definition to it.
resource "aws_ecs_service" "rolling" {
  for_each               = { for k, s in local.services : k => s if s.controller == "ECS" }
  name                   = each.key
  cluster                = aws_ecs_cluster.cluster[each.value.cluster].arn
  task_definition        = aws_ecs_task_definition.first[each.key].arn
  desired_count          = each.value.desired_count
  launch_type            = "FARGATE"
  enable_execute_command = false
  propagate_tags         = "SERVICE"

  deployment_controller {
    type = "ECS"
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.service["staging"].arn
    container_name   = each.value.task.container_name
    container_port   = each.value.task.container_port
  }
  lifecycle {
    ignore_changes = [task_definition]
  }
  tags       = local.tags
  depends_on = [aws_lb_listener.staging]
}

# Production: CodeDeploy owns the task definition and which target group serves
# (they swap every deployment); Terraform changing either would undo a release.
resource "aws_ecs_service" "blue_green" {
  for_each               = { for k, s in local.services : k => s if s.controller == "CODE_DEPLOY" }
  name                   = each.key
  cluster                = aws_ecs_cluster.cluster[each.value.cluster].arn
  task_definition        = aws_ecs_task_definition.first[each.key].arn
  desired_count          = each.value.desired_count
  launch_type            = "FARGATE"
  enable_execute_command = false
  propagate_tags         = "SERVICE"

  deployment_controller {
    type = "CODE_DEPLOY"
  }
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.service["blue"].arn
    container_name   = each.value.task.container_name
    container_port   = each.value.task.container_port
  }
  lifecycle {
    ignore_changes = [task_definition, load_balancer]
  }
  tags       = local.tags
  depends_on = [aws_lb_listener.production, aws_lb_listener.test]
}
