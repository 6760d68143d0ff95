# The Ballista scheduler and its executors. Executors find the scheduler by its
# private address (rendered into their user data); they spill and shuffle on
# the instance's root volume.

locals {
  executor_user_data = templatefile("${path.module}/../../templates/node.sh.tftpl", {
    role              = "executor"
    bucket            = var.bucket
    release_key       = var.release_key
    region            = var.region
    scheduler_address = aws_instance.scheduler.private_ip
  })
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
  user_data = templatefile("${path.module}/../../templates/node.sh.tftpl", {
    role              = "scheduler"
    bucket            = var.bucket
    release_key       = var.release_key
    region            = var.region
    scheduler_address = "127.0.0.1"
  })

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
  user_data              = local.executor_user_data

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }
  # Shuffle files and spills: 200 GB per executor covers one 100x run (see README).
  root_block_device {
    volume_type = local.root_volume.volume_type
    volume_size = 200
    encrypted   = local.root_volume.encrypted
  }
  tags = { Name = "${var.name}-executor-${count.index}", role = "executor" }
}
