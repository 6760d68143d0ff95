# The Ballista scheduler and its executors. Executors find the scheduler by its
# private address (rendered into their user data); they spill and shuffle on
# the instance's root volume.

module "scheduler_user_data" {
  source            = "../user_data"
  role              = "scheduler"
  bucket            = var.bucket
  release_key       = var.release_key
  release_sha256    = var.release_sha256
  region            = var.region
  scheduler_address = "127.0.0.1"
}

module "executor_user_data" {
  source            = "../user_data"
  role              = "executor"
  bucket            = var.bucket
  release_key       = var.release_key
  release_sha256    = var.release_sha256
  region            = var.region
  scheduler_address = aws_instance.scheduler.private_ip
}

locals {
  root_volume = {
    volume_type = "gp3"
    encrypted   = true
  }
}

resource "aws_instance" "scheduler" {
  ami                     = var.ami_id
  instance_type           = var.scheduler_instance_type
  subnet_id               = var.subnet_ids[0]
  vpc_security_group_ids  = [var.security_group_id]
  iam_instance_profile    = var.instance_profile
  ebs_optimized           = true
  monitoring              = true
  disable_api_termination = false
  user_data               = module.scheduler_user_data.script
  # A new release is a new script: replace the instance, since cloud-init runs
  # user data only on an instance's first boot.
  user_data_replace_on_change = true

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }
  root_block_device {
    volume_type = local.root_volume.volume_type
    volume_size = 30
    encrypted   = local.root_volume.encrypted
  }
  tags = { Name = "${var.name}-scheduler", role = "scheduler" }
}

resource "aws_instance" "executor" {
  count                  = var.executor_count
  ami                    = var.ami_id
  instance_type          = var.executor_instance_type
  subnet_id              = var.subnet_ids[count.index % length(var.subnet_ids)]
  vpc_security_group_ids = [var.security_group_id]
  iam_instance_profile   = var.instance_profile
  ebs_optimized          = true
  monitoring             = true
  user_data              = module.executor_user_data.script
  # See the scheduler: a new release replaces the executors.
  user_data_replace_on_change = true

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }
  # Shuffle files and spills: 200 GB per executor covers one 100x run (see docs/deploy.md).
  root_block_device {
    volume_type = local.root_volume.volume_type
    volume_size = 200
    encrypted   = local.root_volume.encrypted
  }
  tags = { Name = "${var.name}-executor-${count.index}", role = "executor" }
}
