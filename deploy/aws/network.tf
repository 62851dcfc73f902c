# The load balancer: production (HTTPS, blue and green target groups), the test
# listener CodeDeploy routes to the replacement, staging; and the security groups
# of the load balancer, the tasks and the hook functions.

locals {
  # Target group names are limited to 32 characters.
  tg_prefix = substr(local.name, 0, 21)
  # Target group -> the service it serves.
  target_groups = merge(
    { blue = local.blue_green, green = local.blue_green },
    local.rolling == null ? {} : { staging = local.rolling },
  )
  container_ports = toset([for s in local.services : tostring(s.task.container_port)])
}

resource "aws_lb" "main" {
  name                       = substr(local.name, 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  idle_timeout               = 60
  tags                       = local.tags
}

# Blue and green take turns serving the blue/green service (CodeDeploy swaps them
# every deployment); staging has its own.
resource "aws_lb_target_group" "service" {
  for_each             = local.target_groups
  name                 = "${local.tg_prefix}-${each.key}"
  port                 = local.services[each.value].task.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = local.services[each.value].deregistration_delay
  health_check {
    path                = local.services[each.value].health_check.path
    interval            = local.services[each.value].health_check.interval
    timeout             = local.services[each.value].health_check.timeout
    healthy_threshold   = local.services[each.value].health_check.healthy_threshold
    unhealthy_threshold = local.services[each.value].health_check.unhealthy_threshold
    matcher             = local.services[each.value].health_check.matcher
  }
  tags = local.tags
}

resource "aws_lb_listener" "production" {
  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["blue"].arn
  }
  # CodeDeploy points the listener at blue or green on every deployment.
  lifecycle {
    ignore_changes = [default_action]
  }
  tags = local.tags
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
  tags = local.tags
}

resource "aws_lb_listener" "test" {
  load_balancer_arn = aws_lb.main.arn
  port              = var.test_listener_port
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["blue"].arn
  }
  lifecycle {
    ignore_changes = [default_action]
  }
  tags = local.tags
}

resource "aws_lb_listener" "staging" {
  count             = local.rolling == null ? 0 : 1
  load_balancer_arn = aws_lb.main.arn
  port              = var.staging_listener_port
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["staging"].arn
  }
  tags = local.tags
}

resource "aws_security_group" "alb" {
  name_prefix = "${local.name}-alb-"
  description = "Load balancer of ${local.name}"
  vpc_id      = var.vpc_id
  tags        = local.tags
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb" {
  for_each = merge(
    { for i, c in var.production_cidr_blocks : "https-${i}" => { port = 443, cidr = c } },
    { for i, c in var.production_cidr_blocks : "http-${i}" => { port = 80, cidr = c } },
    { for i, c in var.test_listener_cidr_blocks : "test-${i}" => { port = var.test_listener_port, cidr = c } },
    { for i, c in var.staging_cidr_blocks : "staging-${i}" => { port = var.staging_listener_port, cidr = c } },
  )
  security_group_id = aws_security_group.alb.id
  description       = each.key
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_security_group" "tasks" {
  name_prefix = "${local.name}-tasks-"
  description = "Tasks of ${local.name}"
  vpc_id      = var.vpc_id
  tags        = local.tags
  lifecycle {
    create_before_destroy = true
  }
}

# The tasks take their port from the load balancer and from the hook functions:
# the AfterInstall hook checks the replacement's task before the test listener
# reaches it.
locals {
  task_clients = {
    for pair in setproduct(["alb", "hooks"], local.container_ports) : "${pair[0]}-${pair[1]}" => {
      client = pair[0] == "alb" ? aws_security_group.alb.id : aws_security_group.hooks.id
      port   = tonumber(pair[1])
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "tasks" {
  for_each                     = local.task_clients
  security_group_id            = aws_security_group.tasks.id
  description                  = "from ${split("-", each.key)[0]}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.client
}

resource "aws_vpc_security_group_egress_rule" "to_tasks" {
  for_each                     = local.task_clients
  security_group_id            = each.value.client
  description                  = "to the tasks"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.tasks.id
}

# Tasks pull their image from ECR and write logs over HTTPS through the NAT gateway.
resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (ECR, CloudWatch Logs)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "hooks" {
  name_prefix = "${local.name}-hooks-"
  description = "Lifecycle hook functions of ${local.name}"
  vpc_id      = var.vpc_id
  tags        = local.tags
  lifecycle {
    create_before_destroy = true
  }
}

# Hooks call CodeDeploy and ECS, and reach the listeners by their public names.
resource "aws_vpc_security_group_egress_rule" "hooks" {
  for_each          = toset(["443", tostring(var.test_listener_port), tostring(var.staging_listener_port)])
  security_group_id = aws_security_group.hooks.id
  description       = "to AWS APIs and the load balancer"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.key)
  to_port           = tonumber(each.key)
  cidr_ipv4         = "0.0.0.0/0"
}
