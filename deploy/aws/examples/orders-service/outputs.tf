output "pipeline_name" {
  description = "The pipeline: start it, watch it and approve it in the console or with the AWS CLI."
  value       = module.greenlight.pipeline_name
}

output "connection_arn" {
  description = "Authorize this connection once in the console before the first run."
  value       = module.greenlight.connection_arn
}

output "ecr_repository_url" {
  description = "Where the build pushes the orders-service image."
  value       = module.greenlight.ecr_repository_url
}

output "load_balancer_dns_name" {
  description = "Point production's and staging's names at this."
  value       = module.greenlight.load_balancer_dns_name
}

output "production_url" {
  description = "Production."
  value       = module.greenlight.production_url
}

output "staging_url" {
  description = "Staging."
  value       = module.greenlight.staging_url
}

output "nat_public_ip" {
  description = "The address the tasks and hooks leave the VPC from."
  value       = aws_eip.nat.public_ip
}
