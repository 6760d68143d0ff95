output "cluster_instance_profile" {
  value = aws_iam_instance_profile.cluster.name
}

output "bastion_instance_profile" {
  value = aws_iam_instance_profile.bastion.name
}

output "redshift_role_arn" {
  value = aws_iam_role.redshift.arn
}
