output "public_ip" {
  value = aws_instance.bastion.public_ip
}

output "user_data" {
  description = "The bastion's rendered boot script."
  value       = module.user_data.script
}

output "replaced_on_new_user_data" {
  value = aws_instance.bastion.user_data_replace_on_change
}
