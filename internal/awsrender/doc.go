// Package awsrender owns the translation of a greenlight.yaml Definition into the
// inputs of the Terraform stack under deploy/aws: the pipeline's stages and actions,
// the build projects and their report groups, the ECS services, the CodeDeploy
// deployment groups and configs, the CloudWatch alarms and the lifecycle-hook
// functions. It writes them as one Terraform variable (greenlight.auto.tfvars.json)
// that the hand-written module consumes, so the definition is written once.
//
// Every feature of a definition that AWS cannot carry as written (one-second alarm
// periods, the process driver, local secret sources, loopback listeners, ...) comes
// back as a Finding with its position: rendered differently, or local only, never
// silently dropped. The package reads manifest types and never changes them; it
// does no I/O beyond reading the files a definition names (buildspecs, appspec,
// task definition template).
package awsrender
