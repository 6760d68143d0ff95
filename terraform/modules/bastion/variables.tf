variable "name" {
  type = string
}

variable "ami_id" {
  type = string
}

variable "subnet_id" {
  description = "The public subnet."
  type        = string
}

variable "security_group_id" {
  type = string
}

variable "instance_profile" {
  type = string
}

variable "instance_type" {
  type = string
}

variable "public_key" {
  description = "OpenSSH public key for the admin user; empty: no key pair (use SSM)."
  type        = string
}

variable "bucket" {
  type = string
}

variable "release_key" {
  description = "Key of the release package in the bucket (its upload must exist before the instances)."
  type        = string
}

variable "release_sha256" {
  description = "SHA-256 of the release package, rendered into the user data."
  type        = string
}

variable "region" {
  type = string
}

variable "scheduler_address" {
  type = string
}

variable "redshift_endpoint" {
  type = string
}

variable "redshift_role_arn" {
  type = string
}
