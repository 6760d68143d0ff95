#!/usr/bin/env bash
# The Docker tier: builds the runtime image from deploy/docker/Dockerfile with
# buildah (no Docker engine or registry here), checks it, runs the compose
# topology from it (tests/docker/compose.py: systemd-nspawn, one network
# namespace per container) and compares the pipeline's answers on it with the
# embedded engine's. Prints "docker: N passed, N failed" last.
#
#   tests/docker/run.sh            # DOCKER_BIN_DIR=target/release to package release binaries
#
# Cached outside the clone, in the target dir: the Debian 12 base (debootstrap)
# and buildah's storage (so the apt layer is built once).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
cache=$target/docker-cache
bin_dir=${DOCKER_BIN_DIR:-$target/debug}
base_image=localhost/movielens-base:bookworm
image=localhost/movielens:latest
logs=$cache/logs
mkdir -p "$cache" "$logs"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
summary() { echo "docker: $passed passed, $failed failed"; }
die() { bad "$*"; summary; exit 1; }
bh() { buildah --root "$cache/storage" --runroot "$cache/runroot" --storage-driver vfs "$@"; }
compose() { python3 "$repo/tests/docker/compose.py" "$@"; }
now() { date +%s%N; }
since() { python3 -c 'import sys,time; print(f"{(time.time_ns() - int(sys.argv[1])) / 1e9:.1f}")' "$1"; }

for tool in buildah debootstrap systemd-nspawn; do
    command -v "$tool" >/dev/null && continue
    echo "docker: installing $tool" >&2
    pkg=$tool; [ "$tool" = systemd-nspawn ] && pkg=systemd-container
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg"; } >"$logs/apt-$pkg.log" 2>&1 ||
        die "cannot install $pkg (log $logs/apt-$pkg.log)"
done
for b in movielens movielens-scheduler movielens-executor; do
    [ -x "$bin_dir/$b" ] || die "$bin_dir/$b missing: run 'cargo build --workspace' first"
done

ctr_ids=()
cleanup() {
    compose down >/dev/null 2>&1
    for c in "${ctr_ids[@]}"; do bh rm "$c" >/dev/null 2>&1; done
    # Earlier runs' image versions (each package is a new layer) would fill the cache.
    bh rmi --prune >/dev/null 2>&1
}
trap cleanup EXIT
compose down >/dev/null 2>&1 # what a killed run left

# 1. The base: Debian 12 minbase, as debian:bookworm-slim would be.
if ! bh inspect --type image "$base_image" >/dev/null 2>&1; then
    started=$(date +%s)
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    rm -rf "$cache/base-rootfs"
    debootstrap --variant=minbase bookworm "$cache/base-rootfs" "${mirror:-http://deb.debian.org/debian}" \
        >"$logs/debootstrap.log" 2>&1 || die "debootstrap failed (log $logs/debootstrap.log)"
    rm -rf "$cache/base-rootfs"/var/cache/apt/archives/*.deb "$cache/base-rootfs"/var/lib/apt/lists/*
    c=$(bh from scratch) && mnt=$(bh mount "$c") && cp -a "$cache/base-rootfs/." "$mnt/" && bh umount "$c" >/dev/null &&
        bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$c" &&
        bh commit -q "$c" "$base_image" >/dev/null && bh rm "$c" >/dev/null || die "importing the base image"
    rm -rf "$cache/base-rootfs"
    echo "docker: base image $base_image made in $(( $(date +%s) - started )) s" >&2
fi

# 2. The package and the runtime image built from it (the Dockerfile's from-package target).
context=$cache/context
rm -rf "$context" && mkdir -p "$context"
"$repo/deploy/package.sh" "$context/movielens.tar.gz" --bin-dir "$bin_dir" 2>"$logs/package.log" ||
    die "deploy/package.sh failed (log $logs/package.log)"
build() {
    bh bud --layers --isolation chroot --target from-package \
        --build-arg RUNTIME_BASE="$base_image" --build-arg PACKAGE=movielens.tar.gz \
        -f "$repo/deploy/docker/Dockerfile" -t "$image" "$context"
}
layers=cached
bh inspect --type image "$image" >/dev/null 2>&1 || layers=cold
started=$(now)
if build >"$logs/build.log" 2>&1; then
    ok "image built from the package in $(since "$started") s (runtime-base layers $layers; the package layer is new)"
else
    die "buildah bud failed (log $logs/build.log): $(tail -5 "$logs/build.log")"
fi
started=$(now)
build >"$logs/build-again.log" 2>&1 && ok "rebuilt with every layer cached in $(since "$started") s" ||
    bad "second build failed (log $logs/build-again.log)"

# 3. What is inside.
bh inspect --type image "$image" >"$cache/image.json"
user=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["OCIv1"]["config"].get("User",""))' "$cache/image.json")
[ "$user" = movielens ] && ok "runs as the unprivileged user 'movielens'" || bad "image user is '$user', not movielens"
size=$(bh images --format '{{.Size}}' "$image" | head -1)
ok "image size $size (binaries: $bin_dir)"
c=$(bh from -q "$image") && ctr_ids+=("$c")
whoami_out=$(bh run --isolation chroot "$c" -- sh -c 'id -un; id -u' 2>&1 | tr '\n' ' ')
case "$whoami_out" in "movielens 10001 "*) ok "commands run as $whoami_out" ;; *) bad "id in the image: $whoami_out" ;; esac
for b in movielens movielens-scheduler movielens-executor; do
    v=$(bh run --isolation chroot "$c" -- "$b" --version 2>&1)
    [ -n "$v" ] && [[ "$v" == *0.* ]] && ok "$b --version: $v" || bad "$b --version: $v"
done
tools=$(bh run --isolation chroot "$c" -- sh -c 'for t in cargo rustc gcc cc c++ ld make; do command -v $t; done; true')
[ -z "$tools" ] && ok "no build tools inside (cargo, rustc, gcc, cc, ld, make)" || bad "build tools inside: $tools"
rootfs=$(bh mount "$c")
os_mb=$(( ($(du -sbx "$rootfs" | cut -f1) - $(du -sb "$rootfs/opt/movielens" | cut -f1)) >> 20 ))
pkg_mb=$(( $(du -sb "$rootfs/opt/movielens" | cut -f1) >> 20 ))
[ "$os_mb" -le 250 ] && ok "size: $os_mb MiB of OS (≤ 250) + $pkg_mb MiB of package" ||
    bad "the OS part of the image is $os_mb MiB (> 250): what was installed?"
grep -qx 'target/' "$repo/.dockerignore" && grep -qx '.git/' "$repo/.dockerignore" &&
    ok ".dockerignore keeps target/ and .git/ out of the build context" || bad ".dockerignore lets target/ or .git/ in"

# 4. The compose topology from that image.
started=$(date +%s)
if compose --rootfs "$rootfs" --image-config "$cache/image.json" up 2>"$logs/compose-up.log"; then
    ok "compose services up in $(( $(date +%s) - started )) s (s3 stand-in, bucket, scheduler healthy, 2 executors)"
else
    die "compose up failed (log $logs/compose-up.log): $(tail -5 "$logs/compose-up.log")"
fi
addr() { python3 -c 'import json,sys; print(json.load(open("/run/movielens-docker/addresses.json"))[sys.argv[1]])' "$1"; }
n=0
for _ in $(seq 1 60); do
    n=$(ip netns exec mld-client curl -sf "http://$(addr scheduler):50050/api/executors" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)
    [ "$n" -ge 2 ] && break
    sleep 1
done
[ "$n" -ge 2 ] && ok "scheduler's REST API lists $n executors" || bad "scheduler lists $n executors, not 2"
uids=$(for p in $(pgrep -f '^movielens-(scheduler|executor)'); do awk '/^Uid:/ {print $2}' "/proc/$p/status"; done | sort -u | tr '\n' ' ')
[ "$uids" = "10001 " ] && ok "scheduler and executors run as uid 10001" || bad "service uids: '$uids'"

started=$(date +%s)
if timeout 600 python3 "$repo/tests/docker/compose.py" --rootfs "$rootfs" --image-config "$cache/image.json" run cli run --format json --run-id docker \
    >"$cache/answers-docker.json" 2>"$logs/cli-docker.log"; then
    ok "the cli service's 'run' on the containers finished in $(( $(date +%s) - started )) s"
else
    bad "the cli service's run failed (log $logs/cli-docker.log): $(tail -5 "$logs/cli-docker.log")"
fi
# The embedded engine on the same lake and the same (deterministically generated) input.
lake_env=(MOVIELENS_LAKE=s3://movielens/lake "MOVIELENS_S3__ENDPOINT=http://$(addr s3):5000"
    MOVIELENS_S3__ALLOW_HTTP=true MOVIELENS_S3__ACCESS_KEY_ID=local MOVIELENS_S3__SECRET_ACCESS_KEY=local-secret)
started=$(date +%s)
timeout 600 ip netns exec mld-client env "${lake_env[@]}" "$bin_dir/movielens" run --format json --run-id embedded \
    >"$cache/answers-embedded.json" 2>"$logs/cli-embedded.log" &&
    ok "the embedded engine's run on the same lake finished in $(( $(date +%s) - started )) s" ||
    bad "embedded run failed (log $logs/cli-embedded.log)"
python3 - "$cache/answers-docker.json" "$cache/answers-embedded.json" <<'EOF' && ok "answers on the containers equal the embedded engine's" || bad "answers differ (above)"
import json, sys
def strip(v):
    # The run's own id and times differ by design; the answers must not.
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if "run" not in k and not k.endswith("_at")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
a, b = (strip(json.load(open(p))) for p in sys.argv[1:3])
if a != b:
    print(json.dumps(a)[:800], "\n", json.dumps(b)[:800])
    sys.exit(1)
EOF
cmp_out=$(ip netns exec mld-client env "${lake_env[@]}" "$bin_dir/movielens" runs --compare docker embedded 2>&1) &&
    ok "runs --compare docker embedded: every table equal" || bad "runs --compare: $cmp_out"

summary
[ "$failed" -eq 0 ]
