variable "role" {
  description = "scheduler, executor or bastion."
  type        = string
  validation {
    condition     = contains(["scheduler", "executor", "bastion"], var.role)
    error_message = "role must be scheduler, executor or bastion."
  }
}

variable "bucket" {
  type = string
}

variable "release_key" {
  description = "Key of the release package in the bucket."
  type        = string
}

variable "release_sha256" {
  description = "SHA-256 of the release package; the boot refuses any other file."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.release_sha256))
    error_message = "release_sha256 must be 64 lower-case hex digits."
  }
}

variable "region" {
  type = string
}

variable "s3_endpoint" {
  description = "S3 endpoint override (the rehearsal's moto); empty on AWS."
  type        = string
  default     = ""
}

variable "scheduler_address" {
  description = "Where executors and the bastion find the scheduler."
  type        = string
}

variable "warehouse_kind" {
  description = "Bastion only: the warehouse the CLI loads (redshift on AWS)."
  type        = string
  default     = "redshift"
  validation {
    condition     = contains(["redshift", "postgres", "none"], var.warehouse_kind)
    error_message = "warehouse_kind must be redshift, postgres or none."
  }
}

variable "redshift_endpoint" {
  type    = string
  default = ""
}

variable "redshift_role_arn" {
  type    = string
  default = ""
}

variable "ssh_user" {
  description = "Bastion only: the login user Airflow's SSH connection uses (admin on Debian's AMI)."
  type        = string
  default     = "admin"
}
