output "scheduler_private_ip" {
  value = aws_instance.scheduler.private_ip
}

output "executor_ids" {
  value = aws_instance.executor[*].id
}

output "executor_private_ips" {
  value = aws_instance.executor[*].private_ip
}

output "executor_user_data" {
  description = "The executors' rendered boot script (tests check the scheduler address in it)."
  value       = module.executor_user_data.script
}

output "scheduler_user_data" {
  description = "The scheduler's rendered boot script."
  value       = module.scheduler_user_data.script
}

output "replaced_on_new_user_data" {
  description = "Whether each instance is replaced when its user data (its release) changes."
  value       = concat([aws_instance.scheduler.user_data_replace_on_change], aws_instance.executor[*].user_data_replace_on_change)
}
