output "script" {
  description = "The rendered boot script."
  value       = var.role == "bastion" ? local.bastion : local.node
}
