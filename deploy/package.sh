#!/usr/bin/env bash
# Packages a movielens release: the three binaries, the bastion's run wrapper
# and the systemd units, in the layout the hosts' user data installs from:
#
#   bin/movielens  bin/movielens-scheduler  bin/movielens-executor  bin/movielens-run
#   systemd/movielens-scheduler.service  systemd/movielens-executor.service
#   SHA256SUMS     (of every file above; user data verifies it)
#
# and OUT.sha256 next to the tarball (what Terraform and user data compare).
#   usage: deploy/package.sh OUT.tar.gz [--bin-dir DIR]
# DIR defaults to target/release (build it with `cargo build --release`).
# Binaries are stripped of debug info (symbols stay, for backtraces); the
# tarball is reproducible: same binaries, same bytes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "package.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: deploy/package.sh OUT.tar.gz [--bin-dir DIR]"
out=$1
shift
bin_dir="${CARGO_TARGET_DIR:-$repo/target}/release"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) bin_dir=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
case "$out" in *.tar.gz) ;; *) die "$out: the package's name must end in .tar.gz" ;; esac
for b in movielens movielens-scheduler movielens-executor; do
    [ -x "$bin_dir/$b" ] || die "$bin_dir/$b is missing: run 'cargo build --release' (or pass --bin-dir)"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/systemd"
for b in movielens movielens-scheduler movielens-executor; do
    strip --strip-debug -o "$stage/bin/$b" "$bin_dir/$b"
done
install -m 0755 "$repo/deploy/bastion/movielens-run" "$stage/bin/movielens-run"
install -m 0644 "$repo"/deploy/systemd/movielens-*.service "$stage/systemd/"
chmod 0755 "$stage"/bin/*
(cd "$stage" && find bin systemd -type f | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)

mkdir -p "$(dirname "$out")"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$stage" -cf - SHA256SUMS bin systemd |
    gzip -n -4 >"$out.partial"
mv "$out.partial" "$out"
sha=$(sha256sum "$out" | cut -d' ' -f1)
echo "$sha  $(basename "$out")" >"$out.sha256"
echo "package.sh: $out ($(du -h "$out" | cut -f1), sha256 $sha)" >&2
