variable "name" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  type = string
}

variable "copy_role_arn" {
  description = "Role Redshift assumes to COPY from the lake."
  type        = string
}

variable "node_type" {
  type = string
}

variable "nodes" {
  type = number
}
