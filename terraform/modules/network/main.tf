# Two private subnets (cluster, Redshift) in two zones, one public subnet (the
# bastion and the NAT gateway). Cluster ports are reachable only from inside
# the VPC; SSH only to the bastion, only from allowed_ssh_cidrs.

data "aws_availability_zones" "available" {
  state = "available"
  #checkov:skip=CKV_AWS_394:only the first two zones are used (slice below); a zone added later does not move the subnets
}

locals {
  zones = slice(data.aws_availability_zones.available.names, 0, 2)
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.name }
}

# Nothing may use the default security group.
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.this.id
}

resource "aws_flow_log" "vpc" {
  vpc_id               = aws_vpc.this.id
  traffic_type         = "REJECT"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow.arn
  iam_role_arn         = aws_iam_role.flow.arn
}

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/${var.name}/vpc-flow"
  retention_in_days = 365
  #checkov:skip=CKV_AWS_158:flow logs hold addresses and ports only; the AWS-managed key suffices
}

data "aws_iam_policy_document" "flow_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_write" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

resource "aws_iam_role" "flow" {
  name               = "${var.name}-vpc-flow"
  assume_role_policy = data.aws_iam_policy_document.flow_assume.json
}

resource "aws_iam_role_policy" "flow" {
  role   = aws_iam_role.flow.id
  policy = data.aws_iam_policy_document.flow_write.json
}

resource "aws_subnet" "private" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  availability_zone = local.zones[count.index]
  tags              = { Name = "${var.name}-private-${count.index}" }
}

resource "aws_subnet" "public" {
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, 250)
  availability_zone = local.zones[0]
  tags              = { Name = "${var.name}-public" }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

# Private instances reach Debian's mirrors through NAT; S3 through the endpoint.
resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public.id
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.this.id
  }
}

resource "aws_route_table_association" "private" {
  count          = 2
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

data "aws_region" "current" {}

# Lake traffic stays on AWS's network and costs no NAT data charge.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id, aws_route_table.public.id]
}

resource "aws_security_group" "cluster" {
  name        = "${var.name}-cluster"
  description = "Ballista scheduler and executors"
  vpc_id      = aws_vpc.this.id

  ingress {
    description = "scheduler gRPC from inside the VPC"
    from_port   = 50050
    to_port     = 50050
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  ingress {
    description = "executor Flight and gRPC from inside the VPC"
    from_port   = 50051
    to_port     = 50052
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  ingress {
    description = "executor Prometheus metrics from inside the VPC (the scheduler serves its own on 50050)"
    from_port   = 50053
    to_port     = 50053
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  egress {
    description = "S3 and Debian mirrors over HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "Debian mirrors over HTTP (packages are signed)"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "scheduler, executors, shuffle reads and metrics inside the VPC"
    from_port   = 50050
    to_port     = 50053
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  #checkov:skip=CKV2_AWS_5:attached to the scheduler and executors in modules/cluster (security_group_id input)
}

resource "aws_security_group" "bastion" {
  name        = "${var.name}-bastion"
  description = "SSH from Airflow and operators"
  vpc_id      = aws_vpc.this.id

  egress {
    description = "S3, Kaggle, FRED and Debian mirrors over HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "Debian mirrors over HTTP (packages are signed)"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "the scheduler and executors (results come back from executors)"
    from_port   = 50050
    to_port     = 50052
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  egress {
    description = "Redshift"
    from_port   = 5439
    to_port     = 5439
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  #checkov:skip=CKV2_AWS_5:attached to the bastion in modules/bastion (security_group_id input)
}

# SSH rules are separate resources, one per allowed CIDR: with inline rules,
# emptying allowed_ssh_cidrs would leave the last rule in place (an omitted
# inline ingress block means "not managed", not "none").
resource "aws_vpc_security_group_ingress_rule" "bastion_ssh" {
  for_each          = toset(var.allowed_ssh_cidrs)
  security_group_id = aws_security_group.bastion.id
  description       = "SSH from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_security_group" "redshift" {
  name        = "${var.name}-redshift"
  description = "Redshift, from inside the VPC only"
  vpc_id      = aws_vpc.this.id

  ingress {
    description = "Redshift from inside the VPC"
    from_port   = 5439
    to_port     = 5439
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  egress {
    description = "S3 for COPY"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  #checkov:skip=CKV2_AWS_5:attached to the cluster in modules/redshift (security_group_id input)
}
