output "endpoint" {
  value = aws_redshift_cluster.this.endpoint
}

output "publicly_accessible" {
  value = aws_redshift_cluster.this.publicly_accessible
}
