# The boot script (EC2 user data) of one movielens host, rendered from
# terraform/templates. Used by the cluster and bastion modules, and by the
# fleet rehearsal (tests/fleet/terraform), which renders the same scripts with
# its own addresses and S3 endpoint.

locals {
  boot = templatefile("${path.module}/../../templates/boot.sh.tftpl", {
    role           = var.role
    bucket         = var.bucket
    release_key    = var.release_key
    release_sha256 = var.release_sha256
    region         = var.region
    s3_endpoint    = var.s3_endpoint
  })
  node = var.role == "bastion" ? "" : templatefile("${path.module}/../../templates/node.sh.tftpl", {
    boot              = local.boot
    role              = var.role
    bucket            = var.bucket
    region            = var.region
    s3_endpoint       = var.s3_endpoint
    scheduler_address = var.scheduler_address
  })
  bastion = var.role != "bastion" ? "" : templatefile("${path.module}/../../templates/bastion.sh.tftpl", {
    boot              = local.boot
    bucket            = var.bucket
    region            = var.region
    s3_endpoint       = var.s3_endpoint
    scheduler_address = var.scheduler_address
    warehouse_kind    = var.warehouse_kind
    redshift_endpoint = var.redshift_endpoint
    redshift_role_arn = var.redshift_role_arn
    ssh_user          = var.ssh_user
  })
}
