# The bastion: Airflow's SSHOperator logs in here and runs the movielens CLI,
# configured by /etc/movielens/movielens.toml to submit to the scheduler and
# load Redshift.

module "user_data" {
  source            = "../user_data"
  role              = "bastion"
  bucket            = var.bucket
  release_key       = var.release_key
  release_sha256    = var.release_sha256
  region            = var.region
  scheduler_address = var.scheduler_address
  redshift_endpoint = var.redshift_endpoint
  redshift_role_arn = var.redshift_role_arn
}

resource "aws_key_pair" "admin" {
  count      = var.public_key == "" ? 0 : 1
  key_name   = "${var.name}-bastion"
  public_key = var.public_key
}

resource "aws_instance" "bastion" {
  ami                         = var.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [var.security_group_id]
  iam_instance_profile        = var.instance_profile
  associate_public_ip_address = true
  key_name                    = var.public_key == "" ? null : aws_key_pair.admin[0].key_name
  ebs_optimized               = true
  monitoring                  = true
  #checkov:skip=CKV_AWS_88:the bastion is the one host reached from outside; its security group admits only allowed_ssh_cidrs
  user_data                   = module.user_data.script
  user_data_replace_on_change = true

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }
  root_block_device {
    volume_type = "gp3"
    volume_size = 100
    encrypted   = true
  }
  tags = { Name = "${var.name}-bastion", role = "bastion" }
}
