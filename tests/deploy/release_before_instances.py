"""Pins the boot order: every EC2 instance depends, directly or through other
resources, on the upload of the release package, so no instance boots before
its user data's `aws s3 cp` can succeed.

Reads `terraform graph` (DOT, resource summary) on stdin; exits 1 naming any
instance that Terraform could create before aws_s3_object.release.
"""

import re
import sys

edges = {}
for src, dst in re.findall(r'"([^"]+)" -> "([^"]+)"', sys.stdin.read()):
    edges.setdefault(src, set()).add(dst)


def reaches(node, target, seen=None):
    seen = seen if seen is not None else set()
    if node == target:
        return True
    seen.add(node)
    return any(reaches(n, target, seen) for n in edges.get(node, ()) if n not in seen)


instances = sorted({n for n in edges if ".aws_instance." in n})
if not instances:
    sys.exit("no aws_instance in the graph: is this the root module's `terraform graph`?")
early = [i for i in instances if not reaches(i, "aws_s3_object.release")]
for i in instances:
    print(f"{i}: {'may boot before the release is uploaded' if i in early else 'after aws_s3_object.release'}")
sys.exit(1 if early else 0)
