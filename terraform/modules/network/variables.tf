variable "name" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "allowed_ssh_cidrs" {
  description = "Sources allowed to SSH to the bastion."
  type        = list(string)
}
