variable "name" {
  type = string
}

variable "bucket_arn" {
  description = "ARN of the lake bucket every role is scoped to."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the lake."
  type        = string
}
