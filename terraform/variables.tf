variable "name" {
  description = "Prefix of every resource name (and the project tag)."
  type        = string
  default     = "movielens"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of everything (Redshift COPY needs the bucket in its region)."
  type        = string
  default     = "us-east-1"
}

variable "vpc_cidr" {
  description = "Address range of the VPC; cluster ports are open only inside it."
  type        = string
  default     = "10.42.0.0/16"
}

variable "allowed_ssh_cidrs" {
  description = "Who may SSH to the bastion (e.g. the Airflow workers' egress address). Empty: nobody."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.allowed_ssh_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "allowed_ssh_cidrs must be valid IPv4 CIDRs and not 0.0.0.0/0."
  }
}

variable "executor_count" {
  description = "Ballista executors. The one number to change for more data (see docs/deploy.md, Scaling for 100x data)."
  type        = number
  default     = 2
  validation {
    condition     = var.executor_count >= 1 && var.executor_count <= 100 && floor(var.executor_count) == var.executor_count
    error_message = "executor_count must be a whole number from 1 to 100."
  }
}

variable "executor_instance_type" {
  description = "EC2 type of each executor: compute-optimised, 4 to 16 vCPUs."
  type        = string
  default     = "c6i.2xlarge"
  validation {
    condition     = contains(["c6i.xlarge", "c6i.2xlarge", "c6i.4xlarge", "m6i.xlarge", "m6i.2xlarge", "m6i.4xlarge", "r6i.2xlarge"], var.executor_instance_type)
    error_message = "executor_instance_type must be one of c6i.xlarge, c6i.2xlarge, c6i.4xlarge, m6i.xlarge, m6i.2xlarge, m6i.4xlarge, r6i.2xlarge."
  }
}

variable "scheduler_instance_type" {
  description = "EC2 type of the scheduler (it plans and tracks tasks; it moves no data)."
  type        = string
  default     = "m6i.large"
}

variable "bastion_instance_type" {
  description = "EC2 type of the bastion, where Airflow runs the movielens CLI over SSH."
  type        = string
  default     = "m6i.large"
}

variable "bastion_public_key" {
  description = "SSH public key (OpenSSH format) allowed to log in to the bastion as admin."
  type        = string
  default     = ""
}

variable "release_package" {
  description = "Path of the release tarball built by `deploy/package.sh` (e.g. ../dist/movielens.tar.gz). Terraform uploads it before any instance boots; a new package replaces the instances."
  type        = string
  validation {
    condition     = fileexists(var.release_package) && endswith(var.release_package, ".tar.gz")
    error_message = "release_package must be an existing .tar.gz made by deploy/package.sh."
  }
}

variable "run_retention_days" {
  description = "Days after which staged and curated runs are deleted (raw files are kept; a run can always be rebuilt from raw/). The pipeline must publish more often than this."
  type        = number
  default     = 35
  validation {
    condition     = var.run_retention_days >= 7
    error_message = "run_retention_days must be at least 7."
  }
}

variable "redshift_node_type" {
  description = "Redshift node type."
  type        = string
  default     = "ra3.xlplus"
}

variable "redshift_nodes" {
  description = "Redshift nodes (2 or more for a multi-node cluster)."
  type        = number
  default     = 2
  validation {
    condition     = var.redshift_nodes >= 1 && var.redshift_nodes <= 32
    error_message = "redshift_nodes must be from 1 to 32."
  }
}
