# A private, encrypted Redshift cluster. Its admin password is generated and
# kept by Secrets Manager (never in Terraform state).

resource "aws_redshift_subnet_group" "this" {
  name       = "${var.name}-redshift"
  subnet_ids = var.subnet_ids
}

resource "aws_redshift_parameter_group" "this" {
  name   = "${var.name}-redshift"
  family = "redshift-1.0"
  parameter {
    name  = "require_ssl"
    value = "true"
  }
  parameter {
    name  = "enable_user_activity_logging"
    value = "true"
  }
}

resource "aws_kms_key" "redshift" {
  description         = "${var.name} Redshift encryption"
  enable_key_rotation = true
  #checkov:skip=CKV2_AWS_64:the default key policy (account root administers) is the intended policy
}

resource "aws_redshift_cluster" "this" {
  cluster_identifier                  = "${var.name}-warehouse"
  database_name                       = "movielens"
  master_username                     = "movielens_admin"
  manage_master_password              = true
  node_type                           = var.node_type
  cluster_type                        = var.nodes > 1 ? "multi-node" : "single-node"
  number_of_nodes                     = var.nodes
  cluster_subnet_group_name           = aws_redshift_subnet_group.this.name
  cluster_parameter_group_name        = aws_redshift_parameter_group.this.name
  vpc_security_group_ids              = [var.security_group_id]
  publicly_accessible                 = false
  encrypted                           = true
  kms_key_id                          = aws_kms_key.redshift.arn
  enhanced_vpc_routing                = true
  iam_roles                           = [var.copy_role_arn]
  automated_snapshot_retention_period = 7
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-warehouse-final"
  #checkov:skip=CKV_AWS_71:audit logging to S3 needs a log bucket; user activity logging is on in the parameter group
  #checkov:skip=CKV_AWS_141:version upgrades are allowed during the maintenance window on purpose
}
