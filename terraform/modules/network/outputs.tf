output "vpc_id" {
  value = aws_vpc.this.id
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "public_subnet_id" {
  value = aws_subnet.public.id
}

output "cluster_security_group_id" {
  value = aws_security_group.cluster.id
}

output "bastion_security_group_id" {
  value = aws_security_group.bastion.id
}

output "redshift_security_group_id" {
  value = aws_security_group.redshift.id
}

output "security_groups" {
  description = "Every security group's ingress CIDRs, by name (for tests and audits)."
  value = {
    cluster  = flatten([for r in aws_security_group.cluster.ingress : r.cidr_blocks])
    bastion  = [for r in aws_vpc_security_group_ingress_rule.bastion_ssh : r.cidr_ipv4]
    redshift = flatten([for r in aws_security_group.redshift.ingress : r.cidr_blocks])
  }
}
