variable "name" {
  type = string
}

variable "run_retention_days" {
  description = "Days after which objects under staging/runs/ and curated/runs/ expire."
  type        = number
}
