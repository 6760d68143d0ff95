# Offline tests of the root module against a mocked AWS provider:
#   terraform init -plugin-dir=/opt/tf-plugins && terraform test

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c"]
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_resource "aws_instance" {
    defaults = {
      private_ip = "10.42.0.10"
      public_ip  = "198.51.100.7"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/movielens-redshift-copy"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      id  = "movielens-lake-test"
      arn = "arn:aws:s3:::movielens-lake-test"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/movielens/vpc-flow"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/test"
    }
  }
}

variables {
  allowed_ssh_cidrs = ["203.0.113.0/24"]
  release_package   = "tests/fixtures/release.tar.gz"
}

run "executor_count_follows_the_variable" {
  command = apply
  variables {
    executor_count = 5
  }
  assert {
    condition     = length(module.cluster.executor_ids) == 5
    error_message = "expected 5 executors"
  }
}

run "executors_receive_the_scheduler_address" {
  command = apply
  assert {
    condition     = strcontains(module.cluster.executor_user_data, "MOVIELENS_CLUSTER__SCHEDULER_HOST=10.42.0.10")
    error_message = "executor user data does not name the scheduler's private address"
  }
  assert {
    condition     = output.scheduler_address == "df://10.42.0.10:50050"
    error_message = "scheduler_address output is wrong"
  }
}

run "no_security_group_admits_the_world" {
  command = apply
  assert {
    condition     = !contains(flatten(values(module.network.security_groups)), "0.0.0.0/0")
    error_message = "a security group admits 0.0.0.0/0"
  }
  assert {
    condition     = module.network.security_groups.bastion == ["203.0.113.0/24"]
    error_message = "the bastion must admit SSH from allowed_ssh_cidrs only"
  }
  assert {
    condition     = alltrue([for c in concat(module.network.security_groups.cluster, module.network.security_groups.redshift) : c == "10.42.0.0/16"])
    error_message = "cluster and Redshift ports must be open to the VPC only"
  }
}

run "no_ssh_cidrs_means_no_ssh_ingress" {
  command = apply
  variables {
    allowed_ssh_cidrs = []
  }
  assert {
    condition     = length(module.network.security_groups.bastion) == 0
    error_message = "the bastion admits SSH with no allowed_ssh_cidrs"
  }
}

run "bucket_is_private_and_encrypted" {
  command = apply
  assert {
    condition     = alltrue(values(module.lake.public_access_block))
    error_message = "the lake bucket does not block every kind of public access"
  }
  assert {
    condition     = module.lake.sse_algorithm == "aws:kms"
    error_message = "the lake bucket is not KMS-encrypted"
  }
}

run "redshift_is_not_public" {
  command = apply
  assert {
    condition     = module.redshift.publicly_accessible == false
    error_message = "Redshift must not be publicly accessible"
  }
}

run "zero_executors_are_rejected" {
  command = plan
  variables {
    executor_count = 0
  }
  expect_failures = [var.executor_count]
}

run "too_many_executors_are_rejected" {
  command = plan
  variables {
    executor_count = 101
  }
  expect_failures = [var.executor_count]
}

run "fractional_executors_are_rejected" {
  command = plan
  variables {
    executor_count = 2.5
  }
  expect_failures = [var.executor_count]
}

run "unknown_instance_type_is_rejected" {
  command = plan
  variables {
    executor_instance_type = "t2.nano"
  }
  expect_failures = [var.executor_instance_type]
}

run "ssh_from_anywhere_is_rejected" {
  command = plan
  variables {
    allowed_ssh_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.allowed_ssh_cidrs]
}

run "every_host_boots_the_uploaded_release_and_checks_its_hash" {
  command = apply
  assert {
    condition     = aws_s3_object.release.key == "releases/movielens-${filesha256("tests/fixtures/release.tar.gz")}.tar.gz"
    error_message = "the release object's key does not carry the package's hash"
  }
  assert {
    condition = alltrue([for script in [module.cluster.scheduler_user_data, module.cluster.executor_user_data, module.bastion.user_data] :
      strcontains(script, "s3://movielens-lake-test/${aws_s3_object.release.key}") &&
    strcontains(script, "echo \"${filesha256("tests/fixtures/release.tar.gz")}  $work/release.tar.gz\" | sha256sum -c")])
    error_message = "a host's user data does not fetch the uploaded object or does not verify its hash"
  }
  assert {
    condition     = alltrue(concat(module.cluster.replaced_on_new_user_data, [module.bastion.replaced_on_new_user_data]))
    error_message = "an instance would keep its old release: user_data_replace_on_change must be set"
  }
}

run "a_new_package_is_a_new_object_and_new_user_data" {
  command = apply
  variables {
    release_package = "tests/fixtures/release-next.tar.gz"
  }
  assert {
    condition     = aws_s3_object.release.key == "releases/movielens-${filesha256("tests/fixtures/release-next.tar.gz")}.tar.gz"
    error_message = "a new package must be uploaded under a new key"
  }
  assert {
    condition     = !strcontains(module.cluster.executor_user_data, filesha256("tests/fixtures/release.tar.gz"))
    error_message = "the executors' user data still names the old release"
  }
}

run "boot_scripts_wait_for_apt_and_retry_the_fetch" {
  command = apply
  assert {
    condition = alltrue([for script in [module.cluster.scheduler_user_data, module.cluster.executor_user_data, module.bastion.user_data] :
    strcontains(script, "DPkg::Lock::Timeout=") && strcontains(script, "retry 8 aws")])
    error_message = "a boot script fails on a held dpkg lock or on the first failed fetch"
  }
}

run "a_missing_package_is_rejected" {
  command = plan
  variables {
    release_package = "tests/fixtures/no-such-release.tar.gz"
  }
  expect_failures = [var.release_package]
}

run "nodes_reserve_the_service_ports" {
  command = apply
  assert {
    condition = alltrue([for script in [module.cluster.scheduler_user_data, module.cluster.executor_user_data] :
    strcontains(script, "net.ipv4.ip_local_reserved_ports = 50050-50053") && strcontains(script, "sysctl -q -p /etc/sysctl.d/60-movielens-ports.conf")])
    error_message = "a node leaves its service ports in the ephemeral range: an outgoing connection may take one before the service binds it"
  }
}
