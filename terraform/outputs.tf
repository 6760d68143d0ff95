output "scheduler_address" {
  description = "df:// URL of the Ballista scheduler (private; reach it from the bastion)."
  value       = "df://${module.cluster.scheduler_private_ip}:50050"
}

output "executor_private_ips" {
  description = "Private addresses of the executors."
  value       = module.cluster.executor_private_ips
}

output "lake_bucket" {
  description = "S3 bucket holding the lake; movielens uses lake = \"s3://<bucket>/lake\"."
  value       = module.lake.bucket
}

output "redshift_endpoint" {
  description = "host:port of the Redshift cluster (private)."
  value       = module.redshift.endpoint
}

output "redshift_copy_role_arn" {
  description = "IAM role Redshift assumes for COPY (warehouse.iam_role)."
  value       = module.iam.redshift_role_arn
}

output "bastion_address" {
  description = "Public address of the bastion (SSH as admin)."
  value       = module.bastion.public_ip
}
