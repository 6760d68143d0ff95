variable "name" {
  type = string
}

variable "ami_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets; executors are spread over them."
  type        = list(string)
}

variable "security_group_id" {
  type = string
}

variable "instance_profile" {
  type = string
}

variable "scheduler_instance_type" {
  type = string
}

variable "executor_instance_type" {
  type = string
}

variable "executor_count" {
  type = number
  validation {
    condition     = var.executor_count >= 1 && var.executor_count <= 100
    error_message = "executor_count must be from 1 to 100."
  }
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
