# movielens on AWS: a VPC, the S3 lake, IAM, a Ballista scheduler and an
# executor fleet in private subnets, a bastion where Airflow runs the CLI over
# SSH, and a private Redshift cluster loaded from the lake.

data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"] # Debian's official AWS account
  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
}

module "network" {
  source            = "./modules/network"
  name              = var.name
  vpc_cidr          = var.vpc_cidr
  allowed_ssh_cidrs = var.allowed_ssh_cidrs
}

module "lake" {
  source             = "./modules/lake"
  name               = var.name
  run_retention_days = var.run_retention_days
}

# The release (deploy/package.sh) is in the bucket before any instance boots:
# every instance's user data names this object's key, so Terraform creates
# the object first. The key and the user data carry the package's hash, so a
# new package is a new object and replaces the instances.
locals {
  release_sha256 = filesha256(var.release_package)
}

resource "aws_s3_object" "release" {
  bucket                 = module.lake.bucket
  key                    = "releases/movielens-${local.release_sha256}.tar.gz"
  source                 = var.release_package
  source_hash            = local.release_sha256
  server_side_encryption = "aws:kms"
  kms_key_id             = module.lake.kms_key_arn
}

module "iam" {
  source      = "./modules/iam"
  name        = var.name
  bucket_arn  = module.lake.bucket_arn
  kms_key_arn = module.lake.kms_key_arn
}

module "cluster" {
  source                  = "./modules/cluster"
  name                    = var.name
  ami_id                  = data.aws_ami.debian.id
  subnet_ids              = module.network.private_subnet_ids
  security_group_id       = module.network.cluster_security_group_id
  instance_profile        = module.iam.cluster_instance_profile
  scheduler_instance_type = var.scheduler_instance_type
  executor_instance_type  = var.executor_instance_type
  executor_count          = var.executor_count
  bucket                  = module.lake.bucket
  release_key             = aws_s3_object.release.key
  release_sha256          = local.release_sha256
  region                  = var.region
}

module "bastion" {
  source            = "./modules/bastion"
  name              = var.name
  ami_id            = data.aws_ami.debian.id
  subnet_id         = module.network.public_subnet_id
  security_group_id = module.network.bastion_security_group_id
  instance_profile  = module.iam.bastion_instance_profile
  instance_type     = var.bastion_instance_type
  public_key        = var.bastion_public_key
  bucket            = module.lake.bucket
  release_key       = aws_s3_object.release.key
  release_sha256    = local.release_sha256
  region            = var.region
  scheduler_address = module.cluster.scheduler_private_ip
  redshift_endpoint = module.redshift.endpoint
  redshift_role_arn = module.iam.redshift_role_arn
}

module "redshift" {
  source            = "./modules/redshift"
  name              = var.name
  subnet_ids        = module.network.private_subnet_ids
  security_group_id = module.network.redshift_security_group_id
  copy_role_arn     = module.iam.redshift_role_arn
  node_type         = var.redshift_node_type
  nodes             = var.redshift_nodes
}
