# The fleet rehearsal's user data, rendered by Terraform from the same module
# the AWS deployment uses (terraform/modules/user_data), with the rehearsal's
# addresses and its S3 endpoint (moto). No provider: renders offline.
#   terraform apply -auto-approve -var release_sha256=… (see tests/fleet/run.sh)

terraform {
  required_version = ">= 1.7"
}

variable "bucket" {
  type = string
}
variable "release_key" {
  type = string
}
variable "release_sha256" {
  type = string
}
variable "s3_endpoint" {
  type = string
}
variable "scheduler_address" {
  type = string
}
variable "warehouse_endpoint" {
  type = string
}

module "scheduler" {
  source            = "../../../terraform/modules/user_data"
  role              = "scheduler"
  bucket            = var.bucket
  release_key       = var.release_key
  release_sha256    = var.release_sha256
  region            = "us-east-1"
  s3_endpoint       = var.s3_endpoint
  scheduler_address = "127.0.0.1"
}

module "executor" {
  source            = "../../../terraform/modules/user_data"
  role              = "executor"
  bucket            = var.bucket
  release_key       = var.release_key
  release_sha256    = var.release_sha256
  region            = "us-east-1"
  s3_endpoint       = var.s3_endpoint
  scheduler_address = var.scheduler_address
}

# Redshift cannot run here: the bastion loads PostgreSQL on the warehouse host.
module "bastion" {
  source            = "../../../terraform/modules/user_data"
  role              = "bastion"
  bucket            = var.bucket
  release_key       = var.release_key
  release_sha256    = var.release_sha256
  region            = "us-east-1"
  s3_endpoint       = var.s3_endpoint
  scheduler_address = var.scheduler_address
  warehouse_kind    = "postgres"
  redshift_endpoint = var.warehouse_endpoint
}

output "scheduler" {
  value = module.scheduler.script
}
output "executor" {
  value = module.executor.script
}
output "bastion" {
  value = module.bastion.script
}
