# The `greenlight` variable is what `greenlight render terraform` writes
# (greenlight.auto.tfvars.json): the parts greenlight.yaml describes. Every other
# variable is about the AWS account the stack lands in.

variable "greenlight" {
  description = "The pipeline, build projects, services, deployment groups, alarms and hooks of greenlight.yaml, as `greenlight render terraform` writes them."
  type = object({
    pipeline = object({
      name           = string
      execution_mode = string
      variables = list(object({
        name          = string
        default_value = string
        description   = string
      }))
      stages = list(object({
        name = string
        actions = list(object({
          name               = string
          category           = string
          owner              = string
          provider           = string
          version            = string
          run_order          = number
          input_artifacts    = list(string)
          output_artifacts   = list(string)
          namespace          = optional(string)
          timeout_in_minutes = optional(number)
          configuration      = map(string)
          configuration_refs = map(object({
            ref    = string
            name   = string
            suffix = string
          }))
        }))
      }))
      # CodePipeline V2 Git triggers; empty: a run on every push to the source
      # action's branch.
      triggers = optional(list(object({
        source_action_name = string
        push = list(object({
          branches   = optional(object({ includes = list(string), excludes = list(string) }))
          file_paths = optional(object({ includes = list(string), excludes = list(string) }))
          tags       = optional(object({ includes = list(string), excludes = list(string) }))
        }))
        pull_request = list(object({
          events     = list(string)
          branches   = optional(object({ includes = list(string), excludes = list(string) }))
          file_paths = optional(object({ includes = list(string), excludes = list(string) }))
        }))
      })), [])
    })
    build_projects = map(object({
      buildspec          = string
      timeout_in_minutes = number
      environment_variables = list(object({
        name  = string
        value = string
        type  = string
      }))
      privileged    = bool
      report_groups = map(string)
      cache         = bool
      parameters    = list(string)
      secrets       = list(string)
    }))
    services = map(object({
      cluster       = string
      controller    = string
      desired_count = number
      health_check = object({
        path                = string
        interval            = number
        timeout             = number
        healthy_threshold   = number
        unhealthy_threshold = number
        matcher             = string
      })
      deregistration_delay = number
      task = object({
        family                = string
        cpu                   = string
        memory                = string
        container_definitions = string
        container_name        = string
        container_port        = number
        execution_role_name   = string
        log_groups            = list(string)
      })
    }))
    deployment_groups = map(object({
      application                      = string
      name                             = string
      service                          = string
      deployment_config                = string
      action_on_timeout                = string
      wait_time_in_minutes             = number
      termination_wait_time_in_minutes = number
      auto_rollback_enabled            = bool
      auto_rollback_events             = list(string)
      alarms_enabled                   = bool
      alarms                           = list(string)
    }))
    deployment_configs = map(object({
      type                = string
      percentage          = number
      interval_in_minutes = number
    }))
    alarms = map(object({
      description        = string
      metric_name        = optional(string)
      statistic          = optional(string)
      extended_statistic = optional(string)
      metric_queries = list(object({
        id          = string
        metric_name = optional(string)
        stat        = optional(string)
        expression  = optional(string)
        label       = optional(string)
        return_data = bool
      }))
      period              = number
      evaluation_periods  = number
      datapoints_to_alarm = number
      threshold           = number
      comparison_operator = string
      treat_missing_data  = string
    }))
    hooks = map(object({
      command          = list(string)
      lifecycle_event  = string
      deployment_group = string
      timeout_seconds  = number
    }))
    # Notification rules by name: CodePipeline events go to a rule on the
    # pipeline, CodeDeploy events to a rule on each application; Slack targets
    # are posted by the notifier function from the notifications topic.
    notifications = optional(map(object({
      detail_type               = string
      status                    = string
      pipeline_event_type_ids   = list(string)
      deployment_event_type_ids = list(string)
      sns_topics                = list(string)
      slack = list(object({
        secrets_manager = optional(string)
        secret_id       = optional(string)
        parameter_store = optional(string)
      }))
    })), {})
  })

  validation {
    condition     = contains(["SUPERSEDED", "QUEUED", "PARALLEL"], var.greenlight.pipeline.execution_mode)
    error_message = "greenlight.pipeline.execution_mode must be SUPERSEDED, QUEUED or PARALLEL."
  }
  validation {
    condition     = length([for s in var.greenlight.services : s if s.controller == "CODE_DEPLOY"]) == 1
    error_message = "The stack serves exactly one blue/green service (a service of one deployment group) on its production listener."
  }
  validation {
    condition     = length([for s in var.greenlight.services : s if s.controller == "ECS"]) <= 1
    error_message = "The stack serves at most one ECS-deployed (staging) service, on its staging listener."
  }
  validation {
    condition     = alltrue([for g in var.greenlight.deployment_groups : length(g.alarms) <= 10])
    error_message = "A CodeDeploy deployment group takes at most 10 alarms."
  }
  validation {
    condition     = alltrue([for r in var.greenlight.notifications : alltrue([for e in r.pipeline_event_type_ids : startswith(e, "codepipeline-pipeline-")]) && alltrue([for e in r.deployment_event_type_ids : startswith(e, "codedeploy-application-deployment-")])])
    error_message = "greenlight.notifications: pipeline_event_type_ids must be codepipeline-pipeline-... ids and deployment_event_type_ids codedeploy-application-deployment-... ids."
  }
  validation {
    condition     = alltrue([for r in var.greenlight.notifications : contains(["BASIC", "FULL"], r.detail_type) && contains(["ENABLED", "DISABLED"], r.status)])
    error_message = "greenlight.notifications: detail_type must be BASIC or FULL, status ENABLED or DISABLED."
  }
}

variable "name" {
  description = "Prefix of the names the stack chooses itself (bucket, roles, load balancer, repository). Default: the pipeline's name."
  type        = string
  default     = null

  validation {
    condition     = var.name == null || can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2 to 21 lowercase letters, digits or '-', starting with a letter (it prefixes load balancer and target group names, which AWS limits to 32 characters)."
  }
}

variable "repository" {
  description = "The GitHub repository the pipeline builds, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be owner/name, like myorg/orders-service."
  }
}

variable "connection_arn" {
  description = "An existing CodeStar (CodeConnections) connection to GitHub. Default: the stack creates one, which you authorize once in the console."
  type        = string
  default     = null

  validation {
    condition     = var.connection_arn == null || can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/.+$", var.connection_arn))
    error_message = "connection_arn must be a CodeStar connections (or CodeConnections) connection ARN."
  }
}

variable "vpc_id" {
  description = "The VPC the load balancer, the tasks and the hook functions run in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id, like vpc-0123456789abcdef0."
  }
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing load balancer, in two or more Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2 && alltrue([for s in var.public_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "public_subnet_ids must list at least two subnet ids (an Application Load Balancer spans two Availability Zones)."
  }
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks and the hook functions. They need a route to the internet (a NAT gateway): tasks pull from ECR, hooks call CodeDeploy and reach the load balancer."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1 && alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "private_subnet_ids must list at least one subnet id."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of the production and staging HTTPS listeners."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)."
  }
}

variable "production_cidr_blocks" {
  description = "Who may reach the production listener (HTTPS 443, and HTTP 80, which redirects)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.production_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "production_cidr_blocks must be IPv4 CIDR blocks."
  }
}

variable "test_listener_port" {
  description = "Port of the test listener (HTTP), which CodeDeploy routes to the replacement for the hooks."
  type        = number
  default     = 9000

  validation {
    condition     = var.test_listener_port >= 1 && var.test_listener_port <= 65535 && !contains([80, 443], var.test_listener_port)
    error_message = "test_listener_port must be a port from 1 to 65535 other than 80 and 443."
  }
}

variable "test_listener_cidr_blocks" {
  description = "Who may reach the test listener: the hook functions' public address (the NAT gateway's), and nobody else unless you add them."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.test_listener_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "test_listener_cidr_blocks must be IPv4 CIDR blocks."
  }
}

variable "staging_listener_port" {
  description = "Port of the staging listener (HTTPS, the same certificate)."
  type        = number
  default     = 8443

  validation {
    condition     = var.staging_listener_port >= 1 && var.staging_listener_port <= 65535 && !contains([80, 443], var.staging_listener_port)
    error_message = "staging_listener_port must be a port from 1 to 65535 other than 80 and 443."
  }
}

variable "staging_cidr_blocks" {
  description = "Who may reach staging: the reviewers who approve releases."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.staging_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "staging_cidr_blocks must be IPv4 CIDR blocks."
  }
}

variable "production_url" {
  description = "Base URL of production for the hooks and outputs, a name the certificate covers (https://orders.example.com). Default: https:// and the load balancer's DNS name."
  type        = string
  default     = null

  validation {
    condition     = var.production_url == null || can(regex("^https?://[^/]+$", var.production_url))
    error_message = "production_url must be a scheme and host without a path, like https://orders.example.com."
  }
}

variable "staging_url" {
  description = "Base URL of staging, a name the certificate covers (https://staging.example.com:8443). Default: https:// and the load balancer's DNS name with the staging port."
  type        = string
  default     = null

  validation {
    condition     = var.staging_url == null || can(regex("^https?://[^/]+$", var.staging_url))
    error_message = "staging_url must be a scheme and host without a path, like https://staging.example.com:8443."
  }
}

variable "hook_package" {
  description = "Zip of the lifecycle-hook function (bootstrap plus the programs its commands run), as `go run ./deploy/aws/lambda/build` writes it."
  type        = string

  validation {
    condition     = endswith(var.hook_package, ".zip")
    error_message = "hook_package must be the path of a .zip file."
  }
}

variable "initial_image_tag" {
  description = "Image tag of the task definitions the stack registers before the pipeline's first run pushes an image."
  type        = string
  default     = "latest"
}

variable "codebuild_image" {
  description = "CodeBuild image of the build projects (x86_64, as Fargate runs the tasks by default)."
  type        = string
  default     = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
}

variable "codebuild_compute_type" {
  description = "CodeBuild compute type."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"], var.codebuild_compute_type)
    error_message = "codebuild_compute_type must be one of BUILD_GENERAL1_SMALL, _MEDIUM, _LARGE, _XLARGE, _2XLARGE."
  }
}

variable "approval_emails" {
  description = "Addresses subscribed to the approvals topic (each confirms by mail)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.approval_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "approval_emails must be e-mail addresses."
  }
}

variable "notify_package" {
  description = "Zip of the Slack notifier function, as `go run ./deploy/aws/lambda/build` writes it. Needed when a notification rule of greenlight.yaml has a Slack target."
  type        = string
  default     = null

  validation {
    condition     = var.notify_package == null || endswith(coalesce(var.notify_package, ".zip"), ".zip")
    error_message = "notify_package must be the path of a .zip file."
  }
}

variable "slack_webhook_secret" {
  description = "Secrets Manager secret (name or ARN) holding the Slack incoming webhook URL, for the Slack targets whose URL greenlight.yaml reads locally (env or file). Null: every Slack target names its own secrets_manager or parameter_store source."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the build, task and hook log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "container_insights" {
  description = "Turn on CloudWatch Container Insights on the clusters (billed per metric)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags on every resource the stack creates."
  type        = map(string)
  default     = {}
}
