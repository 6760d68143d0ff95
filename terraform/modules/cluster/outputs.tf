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
  value       = local.executor_user_data
}
