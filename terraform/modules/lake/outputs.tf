output "bucket" {
  value = aws_s3_bucket.lake.id
}

output "bucket_arn" {
  value = aws_s3_bucket.lake.arn
}

output "kms_key_arn" {
  value = aws_kms_key.lake.arn
}

output "public_access_block" {
  description = "The bucket's public access settings (all four must be true)."
  value = {
    block_public_acls       = aws_s3_bucket_public_access_block.lake.block_public_acls
    block_public_policy     = aws_s3_bucket_public_access_block.lake.block_public_policy
    ignore_public_acls      = aws_s3_bucket_public_access_block.lake.ignore_public_acls
    restrict_public_buckets = aws_s3_bucket_public_access_block.lake.restrict_public_buckets
  }
}

output "sse_algorithm" {
  value = one(aws_s3_bucket_server_side_encryption_configuration.lake.rule).apply_server_side_encryption_by_default[0].sse_algorithm
}
