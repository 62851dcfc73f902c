variable "greenlight" {
  description = "Written by `greenlight render terraform` into greenlight.auto.tfvars.json; the module declares its shape."
  type        = any
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "Two Availability Zones of the region. Default: the region's a and b zones."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "Address range of the new VPC (/16: the subnets are /24s of it)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && endswith(var.vpc_cidr, "/16")
    error_message = "vpc_cidr must be an IPv4 /16 block, like 10.40.0.0/16."
  }
}

variable "repository" {
  description = "Your GitHub repository holding the orders-service files at its root, as owner/name."
  type        = string
}

variable "connection_arn" {
  description = "An existing GitHub connection; default: the stack creates one."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate (in this region) for the names production and staging answer on."
  type        = string
}

variable "production_url" {
  description = "https:// and the name production answers on (covered by the certificate)."
  type        = string
  default     = null
}

variable "staging_url" {
  description = "https:// and the name and port staging answers on (covered by the certificate)."
  type        = string
  default     = null
}

variable "reviewer_cidr_blocks" {
  description = "Addresses of the people who review staging before they approve."
  type        = list(string)
  default     = []
}

variable "approval_emails" {
  description = "Who gets approval requests by mail."
  type        = list(string)
  default     = []
}

variable "hook_package" {
  description = "The hook package `go run ./deploy/aws/lambda/build` writes."
  type        = string
  default     = "../../build/hook.zip"
}

variable "notify_package" {
  description = "The Slack notifier's package `go run ./deploy/aws/lambda/build` writes."
  type        = string
  default     = "../../build/notify.zip"
}

variable "slack_webhook_secret" {
  description = "Secrets Manager secret holding the Slack incoming webhook URL of greenlight.yaml's `releases` rule (its URL is local there: {env: SLACK_WEBHOOK_URL})."
  type        = string
  default     = "orders-service/slack-webhook"
}

variable "initial_image_tag" {
  description = "Image tag of the first task definitions, before the pipeline's first run pushes an image (push one with this tag to the ecr_repository_url output to have the first tasks healthy)."
  type        = string
  default     = "latest"
}
