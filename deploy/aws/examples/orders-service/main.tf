# The orders-service example on a new, small VPC: two public subnets (the load
# balancer, the NAT gateway), two private ones (the tasks, the hook functions), one
# NAT gateway. greenlight.auto.tfvars.json is `greenlight render terraform` of
# examples/orders-service/greenlight.yaml; `terraform apply` reads it by itself.

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { "greenlight:example" = "orders-service" }
  }
}

locals {
  azs = slice(coalescelist(var.availability_zones, ["${var.region}a", "${var.region}b"]), 0, 2)
}

module "greenlight" {
  source = "../.."

  greenlight         = var.greenlight
  repository         = var.repository
  connection_arn     = var.connection_arn
  vpc_id             = aws_vpc.main.id
  public_subnet_ids  = [for s in aws_subnet.public : s.id]
  private_subnet_ids = [for s in aws_subnet.private : s.id]
  certificate_arn    = var.certificate_arn
  production_url     = var.production_url
  staging_url        = var.staging_url
  hook_package       = var.hook_package
  approval_emails    = var.approval_emails

  notify_package       = var.notify_package
  slack_webhook_secret = var.slack_webhook_secret
  initial_image_tag    = var.initial_image_tag

  # The hook functions reach the load balancer from the NAT gateway's address.
  test_listener_cidr_blocks = ["${aws_eip.nat.public_ip}/32"]
  staging_cidr_blocks       = concat(["${aws_eip.nat.public_ip}/32"], var.reviewer_cidr_blocks)

  depends_on = [aws_route_table_association.private, aws_route_table_association.public]
}
