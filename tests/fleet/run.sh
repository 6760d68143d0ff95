#!/usr/bin/env bash
# The fleet rehearsal: the AWS deployment booted and run on one machine.
#
# Hosts are Debian 12 root filesystems booted by systemd-nspawn (real systemd,
# real cloud-init reading a NoCloud seed), one network namespace each, joined
# by a bridge in a namespace of its own on 198.51.100.0/24 (a documentation
# range; nothing has a route out):
#
#   .10 sched    movielens-scheduler   } user data rendered by Terraform
#   .11 exec1    movielens-executor    } (tests/fleet/terraform, the same
#   .12 exec2    movielens-executor    }  module as terraform/), release
#   .30 bastion  movielens-run + CLI   }  fetched from S3 by the AWS CLI
#   .40 airflow  Airflow (the venv of tests/deploy), runs the DAG over SSH
#   .50 wh       PostgreSQL (the warehouse; Redshift cannot run here)
#   .20 s3       moto (S3) and the Kaggle/FRED stand-in (a namespace, no host)
#
# Then, as a user would: Airflow runs the DAG over SSH to the bastion, the
# pipeline runs on the cluster across hosts; and three faults: an executor
# host powered off mid-transform, that host rebooted, a retried Airflow task
# while its first attempt still runs (plus a killed task's remote command).
#
#   usage: tests/fleet/run.sh     (root; needs the workspace built)
# Binaries come from $FLEET_BIN_DIR (default: the debug build, as CI has it).
# The host image is cached in $FLEET_IMAGE_DIR (default: <target>/fleet-image);
# the hosts' state lives in $FLEET_STATE (default /run/movielens-fleet), whose
# filesystem needs room for four unpacked releases (checked before any boot).
# Keeps the fleet up on failure when FLEET_KEEP=1, always when FLEET_KEEP=always
# (then: tests/fleet/run.sh down).
# Prints "fleet: N passed, N failed" last and exits non-zero on any failure.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
bin_dir=${FLEET_BIN_DIR:-$target/debug}
image_dir=${FLEET_IMAGE_DIR:-$target/fleet-image}
airflow_venv=${DEPLOY_TEST_VENVS:-$target/deploy-venv}/airflow
state=${FLEET_STATE:-/run/movielens-fleet}
net=198.51.100
declare -A addr=([sched]=10 [exec1]=11 [exec2]=12 [s3]=20 [bastion]=30 [airflow]=40 [wh]=50)
booted_hosts=(wh sched exec1 exec2 bastion airflow)
declare -A links_before links_after
bucket=movielens-fleet
s3_url=http://$net.20:5000
scale=${FLEET_SCALE:-0.05}
# moto accepts any keys; on EC2 the instance profile supplies them.
aws_key=fleet-access-key
aws_secret=fleet-secret-key

passed=0
failed=0
step() {
    local name=$1
    shift
    local started
    started=$(date +%s)
    echo "== $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "-- $name: ok ($(($(date +%s) - started)) s)"
        return 0
    fi
    failed=$((failed + 1))
    echo "-- $name: FAILED ($(($(date +%s) - started)) s)"
    return 1
}
say() { echo "   $*"; }
fail() { echo "   FAIL: $*" >&2; return 1; }

# --- hosts -------------------------------------------------------------------

# The PID (outside) of host H's systemd.
leader() {
    local nspawn
    nspawn=$(cat "$state/$1/nspawn.pid" 2>/dev/null) || return 1
    pgrep -P "$nspawn" | head -1
}
# Runs a command inside host H (all its namespaces).
in_host() {
    local h=$1 pid
    shift
    pid=$(leader "$h") || { echo "host $h is not running" >&2; return 1; }
    nsenter -t "$pid" -a "$@"
}
# SSH from the Airflow host to the bastion as admin, with the rehearsal's key.
bastion_ssh() {
    in_host airflow ssh -q -i /var/lib/airflow/bastion_key -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o BatchMode=yes "admin@$net.30" "$@"
}
s3py() { ip netns exec mlf-s3 env AWS_ACCESS_KEY_ID=$aws_key AWS_SECRET_ACCESS_KEY=$aws_secret python3 -c "
import boto3, sys
s3 = boto3.client('s3', endpoint_url='$s3_url', region_name='us-east-1')
$1" "${@:2}"; }

network_up() {
    ip netns add mlf-br || return 1
    ip -n mlf-br link add br0 type bridge && ip -n mlf-br link set br0 up || return 1
    local h
    for h in "${!addr[@]}"; do
        ip netns add "mlf-$h" &&
            ip link add "vf-$h" type veth peer name host0 netns "mlf-$h" &&
            ip link set "vf-$h" netns mlf-br &&
            ip -n mlf-br link set "vf-$h" master br0 up &&
            ip -n "mlf-$h" addr add "$net.${addr[$h]}/24" dev host0 &&
            ip -n "mlf-$h" link set host0 up &&
            ip -n "mlf-$h" link set lo up || return 1
    done
}

# Host H's root: an overlay on the image with its identity, its NoCloud seed
# (meta-data, and user-data from file $2) and what an EC2 instance would get
# from its instance profile (static moto keys instead).
prepare_host() {
    local h=$1 user_data=$2 root=$state/$1/root
    mkdir -p "$state/$h"/{upper,work,root}
    mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$state/$h/upper,workdir=$state/$h/work" "$root" || return 1
    echo "$h" >"$root/etc/hostname"
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
    {
        echo "127.0.0.1 localhost"
        local o
        for o in "${!addr[@]}"; do echo "$net.${addr[$o]} $o"; done
    } >"$root/etc/hosts"
    : >"$root/etc/resolv.conf"
    ssh-keygen -q -A -f "$root"
    mkdir -p "$root/var/lib/cloud/seed/nocloud"
    {
        echo "instance-id: i-fleet-$h"
        echo "local-hostname: $h"
        echo "public-keys:"
        echo "  - $(cat "$state/admin_key.pub")"
    } >"$root/var/lib/cloud/seed/nocloud/meta-data"
    cp "$user_data" "$root/var/lib/cloud/seed/nocloud/user-data"
    mkdir -p "$root/root/.aws" "$root/etc/movielens"
    printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$aws_key" "$aws_secret" \
        >"$root/root/.aws/credentials"
    printf 'MOVIELENS_S3__ACCESS_KEY_ID=%s\nMOVIELENS_S3__SECRET_ACCESS_KEY=%s\n' "$aws_key" "$aws_secret" \
        >"$root/etc/movielens/local.env"
    # Readable by every user, as instance-profile credentials are on EC2.
    chmod 0644 "$root/etc/movielens/local.env"
}

# Boots host H (its systemd as PID 1) from its own cgroup, detached.
boot_host() {
    local h=$1 c
    shift
    for c in systemd unified; do mkdir -p "/sys/fs/cgroup/$c/mlfleet/$h"; done
    (
        for c in systemd unified; do echo "$BASHPID" >"/sys/fs/cgroup/$c/mlfleet/$h/cgroup.procs"; done
        # /proc/sys/net writable, as on a VM: it is the host's own network
        # namespace, and the boot script reserves its service ports there.
        SYSTEMD_NSPAWN_API_VFS_WRITABLE=network exec systemd-nspawn -q -D "$state/$h/root" --boot --register=no --keep-unit \
            --resolv-conf=off --machine="$h" --network-namespace-path="/run/netns/mlf-$h" \
            --console=pipe "$@"
    ) </dev/null >>"$state/$h/console.log" 2>&1 &
    echo $! >"$state/$h/nspawn.pid"
    disown
}

# Kills every process of host H at once (its cgroup), then drops the cgroups.
kill_host_cgroup() {
    local h=$1 cg=/sys/fs/cgroup/unified/mlfleet/$1 c
    [ -d "$cg" ] || return 0
    echo 1 >"$cg/cgroup.kill" 2>/dev/null
    for _ in $(seq 100); do grep -q '^populated 0' "$cg/cgroup.events" && break; sleep 0.1; done
    for c in systemd unified; do
        find "/sys/fs/cgroup/$c/mlfleet/$h" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}

# Waits until host H's systemd is up and cloud-init has run its user data.
wait_booted() {
    local h=$1 i s=""
    for ((i = 0; i < 600; i++)); do
        if leader "$h" >/dev/null; then
            s=$(timeout 120 nsenter -t "$(leader "$h")" -a systemctl is-system-running --wait 2>/dev/null)
            case "$s" in running | degraded) break ;; esac
        fi
        sleep 0.1
    done
    [ "$s" = running ] || {
        say "$h: systemd is $s; failed units:"
        in_host "$h" systemctl --failed --no-legend | sed 's/^/     /'
    }
    timeout 300 nsenter -t "$(leader "$h")" -a cloud-init status --wait >/dev/null 2>&1 || {
        fail "$h: cloud-init did not finish cleanly; its user data printed (before cloud-init's own traceback):"
        in_host "$h" sed '/^Traceback/,$d' /var/log/cloud-init-output.log | tail -n 25 >&2
        say "$h: free space on its root: $(in_host "$h" df -h --output=avail / | tail -1)"
        return 1
    }
}

# A host losing power: nspawn and every process of the host killed at once
# (killing nspawn alone leaves the host's own systemd running), nothing shut down.
power_off() {
    kill_host_cgroup "$1"
    rm -f "$state/$1/nspawn.pid"
}

down() {
    local h pid c
    for h in "${booted_hosts[@]}"; do
        pid=$(cat "$state/$h/nspawn.pid" 2>/dev/null) || continue
        kill -TERM "$pid" 2>/dev/null
    done
    for h in "${booted_hosts[@]}"; do
        pid=$(cat "$state/$h/nspawn.pid" 2>/dev/null) || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    for h in "${booted_hosts[@]}"; do kill_host_cgroup "$h"; done
    for pid in $(cat "$state"/s3/*.pid 2>/dev/null); do kill "$pid" 2>/dev/null; done
    sleep 0.5
    for h in "${booted_hosts[@]}"; do umount "$state/$h/root" 2>/dev/null; done
    for c in systemd unified; do rmdir "/sys/fs/cgroup/$c/mlfleet" 2>/dev/null; done
    for h in "${!addr[@]}" br; do ip netns del "mlf-$h" 2>/dev/null; done
    rm -rf "$state"
    return 0
}

if [ "${1:-}" = down ]; then
    down
    echo "fleet down"
    exit 0
fi

# --- the rehearsal ---------------------------------------------------------

[ "$(id -u)" = 0 ] || { echo "fleet: must run as root (namespaces, nspawn)"; exit 1; }
if [ -d "$state" ]; then down; fi
mkdir -p "$state"
finish() {
    if { [ "${FLEET_KEEP:-0}" = 1 ] && [ "$failed" -gt 0 ]; } || [ "${FLEET_KEEP:-0}" = always ]; then
        echo "fleet: kept for inspection in $state (tests/fleet/run.sh down)"
    else
        down
    fi
    echo "fleet: $passed passed, $failed failed"
}
trap finish EXIT

image() {
    rootfs=$("$repo/tests/fleet/image.sh" "$image_dir") || return 1
    say "image $rootfs ($(du -sh "$image_dir" 2>/dev/null | cut -f1))"
}
package() {
    "$repo/deploy/package.sh" "$state/movielens.tar.gz" --bin-dir "$bin_dir" || return 1
    release_sha=$(cut -d' ' -f1 "$state/movielens.tar.gz.sha256")
    release_key=releases/movielens-$release_sha.tar.gz
}
# What `terraform apply` renders for each instance, from the same module.
render_user_data() {
    local tf=$state/terraform
    mkdir -p "$tf"
    export TF_CLI_CONFIG_FILE=/dev/null TF_DATA_DIR=$tf/.terraform
    (cd "$repo/tests/fleet/terraform" &&
        terraform init -backend=false -input=false >"$tf/init.log" &&
        terraform apply -auto-approve -input=false -state="$tf/state" \
            -var "bucket=$bucket" -var "release_key=$release_key" -var "release_sha256=$release_sha" \
            -var "s3_endpoint=$s3_url" -var "scheduler_address=$net.10" \
            -var "warehouse_endpoint=$net.50:5432" >"$tf/apply.log" &&
        for role in scheduler executor bastion; do
            terraform output -state="$tf/state" -raw "$role" >"$tf/$role.sh" || exit 1
        done) || { tail -20 "$tf"/*.log; return 1; }
    grep -q "sha256sum -c" "$tf/executor.sh" && grep -q "$release_sha" "$tf/bastion.sh"
}
# Each EC2 host downloads the release, unpacks it and installs its binaries
# into its overlay, all on the filesystem under $state. A disk that fills up
# half-way shows only as one host's failed cloud-init, so check first.
disk_space() {
    local unpacked packed need free
    unpacked=$(tar -tzvf "$state/movielens.tar.gz" | awk '{s += $3} END {print s}')
    packed=$(stat -c %s "$state/movielens.tar.gz")
    need=$(((4 * (packed + unpacked)) / 1048576 + 2048))
    free=$(df --output=avail -B1M "$state" | tail -1 | tr -d ' ')
    say "the hosts need about $need MiB under $state; $free MiB free"
    [ "$free" -ge "$need" ] ||
        fail "not enough free disk under $state ($free MiB free, about $need MiB needed): free space on that filesystem (e.g. old bench work dirs in /tmp) or point FLEET_STATE at a larger one"
}
network() { network_up; }
# S3 and the Kaggle/FRED stand-in: the outside world, in a namespace.
outside_world() {
    mkdir -p "$state/s3"
    ip netns exec mlf-s3 moto_server -H "$net.20" -p 5000 >"$state/s3/moto.log" 2>&1 &
    echo $! >"$state/s3/moto.pid"
    "$bin_dir/movielens" generate --scale "$scale" --seed 7 --out "$state/s3/data" >/dev/null || return 1
    ip netns exec mlf-s3 python3 "$repo/tests/servers/mock_sources.py" --host "$net.20" --port 8080 \
        --kaggle-dir "$state/s3/data/kaggle" --cpi "$state/s3/data/fred/CUSR0000SS62031.csv" \
        --user fleet --key fleet-kaggle-key >"$state/s3/sources.log" 2>&1 &
    echo $! >"$state/s3/sources.pid"
    local i
    for ((i = 0; i < 100; i++)); do
        ip netns exec mlf-s3 bash -c "exec 3<>/dev/tcp/$net.20/5000" 2>/dev/null && break
        sleep 0.1
    done
    # What `terraform apply` does before any instance: the bucket, then the release.
    s3py "s3.create_bucket(Bucket='$bucket'); s3.upload_file(sys.argv[1], '$bucket', '$release_key')" \
        "$state/movielens.tar.gz" || return 1
    say "release s3://$bucket/$release_key uploaded"
}
warehouse_host() {
    cat >"$state/wh-user-data" <<'EOF'
#!/bin/bash
# The rehearsal's warehouse: PostgreSQL 15 on the fleet's network.
set -euo pipefail
# The image was built beside another PostgreSQL, so its cluster may have another port.
printf "listen_addresses = '*'\nport = 5432\n" >/etc/postgresql/15/main/conf.d/fleet.conf
echo "host all all 198.51.100.0/24 scram-sha-256" >>/etc/postgresql/15/main/pg_hba.conf
systemctl enable --now postgresql@15-main.service
for i in $(seq 50); do pg_isready -q && break; sleep 0.2; done
su postgres -c "psql -qc \"CREATE ROLE movielens LOGIN PASSWORD 'fleet-warehouse-pass'\""
su postgres -c "createdb -O movielens movielens"
EOF
    prepare_host wh "$state/wh-user-data" && boot_host wh
}
# Executors first, the scheduler a few seconds later: they must retry until it is up.
ec2_hosts_boot() {
    local started h
    started=$(date +%s)
    prepare_host exec1 "$state/terraform/executor.sh" &&
        prepare_host exec2 "$state/terraform/executor.sh" &&
        prepare_host sched "$state/terraform/scheduler.sh" &&
        prepare_host bastion "$state/terraform/bastion.sh" || return 1
    boot_host exec1
    boot_host exec2
    boot_host bastion
    for h in exec1 exec2 bastion wh; do wait_booted "$h" || return 1; done
    boot_host sched
    wait_booted sched || return 1
    say "user data finished on every host $(($(date +%s) - started)) s after the first boot"
}
units_active() {
    local ok=0 h unit reserved
    for h in sched exec1 exec2; do
        unit=movielens-executor
        [ "$h" = sched ] && unit=movielens-scheduler
        if [ "$(in_host "$h" systemctl is-active "$unit")" = active ]; then
            say "$h: $unit active, enabled $(in_host "$h" systemctl is-enabled "$unit")"
        else
            fail "$h: $unit is not active"
            in_host "$h" journalctl -u "$unit" --no-pager -n 30 >&2
            ok=1
        fi
        # Its service ports are kept out of the ephemeral range (node.sh.tftpl):
        # an executor once failed to bind 50051 that its own connection held.
        reserved=$(in_host "$h" cat /proc/sys/net/ipv4/ip_local_reserved_ports)
        if [ "$reserved" = 50050-50053 ]; then
            say "$h: ports $reserved reserved"
        else
            fail "$h: reserved ports are '$reserved', not 50050-50053"
            ok=1
        fi
    done
    in_host bastion test -x /usr/local/bin/movielens-run || { fail "bastion: no movielens-run"; ok=1; }
    [ "$(in_host wh systemctl is-active postgresql@15-main)" = active ] || { fail "wh: postgresql not active"; ok=1; }
    # The executors started before the scheduler existed: they kept retrying.
    local retries
    retries=$(in_host exec1 journalctl -u movielens-executor --no-pager -o cat | grep -c "Failed to connect to scheduler")
    say "exec1 retried $retries times before the scheduler was up"
    [ "$retries" -gt 0 ] || { fail "exec1 never had to wait for the scheduler: the ordering was not exercised"; ok=1; }
    in_host bastion bash -c "exec 3<>/dev/tcp/$net.50/5432" 2>/dev/null || { fail "the warehouse does not accept connections"; in_host wh tail -n 20 /var/log/cloud-init-output.log; ok=1; }
    return $ok
}
# Live executors by address, as the scheduler's REST API lists them.
registered() {
    in_host bastion curl -sf "http://$net.10:50050/api/executors" | python3 -c '
import json, sys
print(" ".join(sorted(e["host"] for e in json.load(sys.stdin))))'
}
wait_registered() { # expected-hosts seconds
    local i got=""
    for ((i = 0; i < $2 * 2; i++)); do
        got=$(registered 2>/dev/null)
        [ "$got" = "$1" ] && { say "registered executors: $got"; return 0; }
        sleep 0.5
    done
    fail "registered executors '$got', expected '$1'"
}
executors_registered() { wait_registered "$net.11 $net.12" 60; }

# The operator's part: secrets and site settings on the bastion, over SSH.
bastion_setup() {
    printf '%s\n' \
        "MOVIELENS_WAREHOUSE__URL=postgres://movielens:fleet-warehouse-pass@$net.50:5432/movielens" \
        "KAGGLE_USERNAME=fleet" "KAGGLE_KEY=fleet-kaggle-key" |
        bastion_ssh 'cat > /etc/movielens/secrets.env' || return 1
    # Where Kaggle and FRED are in this rehearsal, and short step timeouts for
    # its tiny data (a stalled step is abandoned after 60 s, not 15 minutes).
    # Ratings land in parts of 8 MiB: the rehearsal's ~37 MB then lands in
    # several parts, as the full 738 MB lands in 12 of 64 MiB, so fact_rating's
    # shards (one job per share of the parts, the one read of the ratings)
    # spread over both executors as they do at full scale.
    printf '%s\n' \
        "MOVIELENS_EXTRACT__KAGGLE_BASE_URL=http://$net.20:8080" \
        "MOVIELENS_EXTRACT__FRED_BASE_URL=http://$net.20:8080" \
        "MOVIELENS_ENGINE__STEP_TIMEOUT_SECS=60" \
        "MOVIELENS_ENGINE__RATINGS_PART_BYTES=8388608" |
        bastion_ssh 'sudo tee /etc/movielens/site.env >/dev/null' || return 1
    bastion_ssh 'ls -l /etc/movielens; movielens --version' | sed 's/^/   /'
}

# Airflow's CLI on its host, with the DAG folder and the SSH connection to the
# bastion. Bounded: a failed task would wait minutes for its retries.
airflow() {
    in_host airflow timeout 900 env AIRFLOW_HOME=/var/lib/airflow \
        AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags AIRFLOW__CORE__LOAD_EXAMPLES=false \
        "AIRFLOW_CONN_MOVIELENS_BASTION={\"conn_type\":\"ssh\",\"host\":\"$net.30\",\"login\":\"admin\",\"extra\":{\"key_file\":\"/var/lib/airflow/bastion_key\",\"no_host_key_check\":true}}" \
        "$airflow_venv/bin/airflow" "$@"
}

airflow_host() {
    [ -x "$airflow_venv/bin/airflow" ] || { fail "no Airflow venv at $airflow_venv (tests/deploy/run.sh makes it)"; return 1; }
    cat >"$state/airflow-user-data" <<'EOF'
#!/bin/bash
install -d -m 0700 /var/lib/airflow
EOF
    prepare_host airflow "$state/airflow-user-data" || return 1
    # The venv's interpreter too, unless it is the image's own (/usr).
    local binds=(--bind-ro="$airflow_venv" --bind-ro="$repo/deploy/airflow:/opt/airflow/dags") home
    home=$(awk -F' = ' '$1 == "home" {print $2}' "$airflow_venv/pyvenv.cfg")
    case "$home" in /usr/*) ;; *) binds+=(--bind-ro="$(dirname "$home")") ;; esac
    boot_host airflow "${binds[@]}"
    wait_booted airflow || return 1
    cp "$state/admin_key" "$state/airflow/root/var/lib/airflow/bastion_key"
    chmod 0600 "$state/airflow/root/var/lib/airflow/bastion_key"
}

dag_run() {
    airflow db migrate >"$state/airflow/migrate.log" 2>&1 || { tail -20 "$state/airflow/migrate.log"; return 1; }
    local started=$(date +%s) h
    for h in exec1 exec2; do links_before[$h]=$(link_bytes "$h"); done
    airflow dags test movielens 2026-11-26 >"$state/airflow/dags_test.log" 2>&1 ||
        { tail -n 60 "$state/airflow/dags_test.log"; fail "airflow dags test failed"; return 1; }
    for h in exec1 exec2; do links_after[$h]=$(link_bytes "$h"); done
    say "DAG run: $(($(date +%s) - started)) s"
    in_host airflow "$airflow_venv/bin/python" -c '
import sqlite3
db = sqlite3.connect("/var/lib/airflow/airflow.db")
print("   run id:", db.execute("select run_id from dag_run").fetchone()[0])
for t, s, d in db.execute("select task_id, state, duration from task_instance order by start_date"):
    print(f"   task {t:<10} {s:<8} {d:6.1f} s")
' | tee "$state/airflow/tasks.txt"
    airflow_run=$(awk '/run id:/ {print $3}' "$state/airflow/tasks.txt")
    # The DAG's own rule, from the DAG file.
    lake_run=$(AIRFLOW_HOME=$state/airflow-home "$airflow_venv/bin/python" -c '
import sys
sys.path.insert(0, sys.argv[1])
from movielens_dag import lake_run_id
print(lake_run_id(sys.argv[2]))' "$repo/deploy/airflow" "$airflow_run" 2>/dev/null)
    say "lake run id: $lake_run"
    [ "$(grep -c ' success ' "$state/airflow/tasks.txt")" = 7 ] || { fail "not all 7 tasks succeeded"; return 1; }
}
warehouse_holds_the_run() {
    local loaded
    loaded=$(in_host wh su postgres -c "psql -d movielens -Atc 'SELECT run_id FROM movielens.loads ORDER BY loaded_at DESC LIMIT 1'")
    [ "$loaded" = "$lake_run" ] || { fail "warehouse holds '$loaded', expected $lake_run"; return 1; }
    say "warehouse movielens.loads: $loaded; fact_rating rows: $(in_host wh su postgres -c "psql -d movielens -Atc 'SELECT count(*) FROM movielens.fact_rating'")"
}
report_in_lake() {
    s3py "o = s3.head_object(Bucket='$bucket', Key='lake/reports/$lake_run/report.html'); print('   report', o['ContentLength'], 'bytes')"
}
# Bytes host H sent and received on its link to the bridge (seen from the bridge).
link_bytes() {
    ip netns exec mlf-br cat "/sys/class/net/vf-$1/statistics/rx_bytes" "/sys/class/net/vf-$1/statistics/tx_bytes" | tr '\n' ' '
}
# Both executors did the DAG run's work: each read its share of the input
# (from S3 and its peer's shuffle) over its own link (counters taken before
# and after the run). What each sends depends on where the single-task
# writes land, so only the reading is required.
work_spread_over_executors() {
    local h ok=0 sent received b0 b1
    for h in exec1 exec2; do
        read -r -a b0 <<<"${links_before[$h]}"
        read -r -a b1 <<<"${links_after[$h]}"
        sent=$(((b1[0] - b0[0]) / 1024))
        received=$(((b1[1] - b0[1]) / 1024))
        say "$h during the DAG run: sent $sent KiB, received $received KiB"
        [ "$received" -gt 4096 ] || { fail "$h read less than 4 MiB: it did no real share of the work"; ok=1; }
    done
    local jobs
    jobs=$(in_host bastion curl -sf "http://$net.10:50050/api/jobs" | python3 -c '
import json, sys
jobs = json.load(sys.stdin)
print(len(jobs), sorted({j.get("status", j.get("job_status", "?")) if isinstance(j, dict) else "?" for j in jobs}))')
    say "scheduler jobs: $jobs"
    return $ok
}

# A 20 Mbit/s link per executor, both ways (tc tbf): at the rehearsal's scale
# a transform then lasts ~20 s instead of ~4 s, long enough to be interrupted.
shape_executors() {
    local h
    for h in exec1 exec2; do
        ip netns exec mlf-br tc qdisc "$1" dev "vf-$h" root tbf rate 20mbit burst 64kb latency 500ms 2>/dev/null
        [ -e "/run/netns/mlf-$h" ] && in_host "$h" tc qdisc "$1" dev host0 root tbf rate 20mbit burst 64kb latency 500ms 2>/dev/null
    done
    return 0
}
# Jobs the scheduler lists as completed (all time) and as running now.
jobs_in() {
    in_host bastion curl -sf "http://$net.10:50050/api/jobs" | python3 -c '
import json, sys
jobs = [json.dumps(j) for j in json.load(sys.stdin)]
print(sum("ompleted" in j for j in jobs), sum("unning" in j for j in jobs))'
}

# Runs a stage on the bastion as Airflow would (wrapper, run id, limit).
on_bastion() { bastion_ssh "movielens-run $*"; }

# The value of metric $2 in a Prometheus page on stdin.
metric() { awk -v m="$1" '$1 == m {print int($2)}'; }
# What ops see and steer, from the bastion by address: the scheduler's and
# both executors' metrics after the DAG run, `movielens cluster status`
# listing both executors, a running job cancelled with `cluster cancel`
# stopping promptly, and a transform after it finishing (its slots came back).
ops_see_and_steer() {
    local ok=0 page h n
    page=$(in_host bastion curl -sf "http://$net.10:50050/api/metrics")
    n=$(metric job_completed_total <<<"$page")
    say "scheduler metrics: job_submitted_total $(metric job_submitted_total <<<"$page"), job_completed_total $n, pending_task_queue_size $(metric pending_task_queue_size <<<"$page")"
    [ "${n:-0}" -gt 10 ] || { fail "the scheduler counted ${n:-0} completed jobs after the DAG run"; ok=1; }
    for h in 11 12; do
        page=$(in_host bastion curl -sf "http://$net.$h:50053/metrics")
        n=$(metric movielens_executor_tasks_completed_total <<<"$page")
        say "$net.$h metrics: up $(metric movielens_executor_up <<<"$page"), slots $(metric movielens_executor_task_slots <<<"$page"), tasks completed $n"
        [ "${n:-0}" -gt 0 ] || { fail "executor $net.$h reports no completed task"; ok=1; }
    done
    local status
    status=$(bastion_ssh "movielens cluster --scheduler df://$net.10:50050 status" 2>&1)
    sed 's/^/   /' <<<"$status"
    [ "$(grep -c '^  executor ' <<<"$status")" = 2 ] || { fail "cluster status does not list 2 executors"; ok=1; }
    local run=fleet-cancel job="" i out
    on_bastion "$run 900 stage --run-id $run" >"$state/cancel-stage.log" 2>&1 || { tail "$state/cancel-stage.log"; return 1; }
    shape_executors add
    on_bastion "$run 900 transform --run-id $run --no-publish" >"$state/cancel.log" 2>&1 &
    local client=$!
    for ((i = 0; i < 600; i++)); do
        [ -n "$job" ] && break
        job=$(in_host bastion curl -sf "http://$net.10:50050/api/jobs" | python3 -c '
import json, sys
print(next((j["job_id"] for j in json.load(sys.stdin) if j["status"] == "Running"), ""))')
        if [ -n "$job" ]; then
            out=$(bastion_ssh "movielens cluster --scheduler df://$net.10:50050 cancel $job" 2>&1) || { job=""; continue; }
        fi
        sleep 0.1
    done
    [ -n "$job" ] || { shape_executors del; fail "no running job could be cancelled"; return 1; }
    local asked=$(date +%s%N) st
    for ((i = 0; i < 100; i++)); do
        st=$(in_host bastion curl -sf "http://$net.10:50050/api/job/$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
        [ "$st" != Running ] && break
        sleep 0.1
    done
    say "job $job: '$out'; status $st $(( ($(date +%s%N) - asked) / 1000000 )) ms after the cancel"
    [ "$st" != Running ] || { fail "job $job still running 10 s after cancel"; ok=1; }
    wait "$client"
    say "the transform with the cancelled job exited $? ($(grep -c 're-submitting' "$state/cancel.log") step re-submissions)"
    shape_executors del
    local started=$(date +%s)
    on_bastion "$run-after 900 transform --run-id $run --no-publish" >"$state/cancel-after.log" 2>&1 ||
        { tail -n 20 "$state/cancel-after.log"; fail "the transform after the cancel failed (slots leaked?)"; return 1; }
    say "a transform after the cancel finished in $(($(date +%s) - started)) s"
    return $ok
}

executor_power_off_mid_transform() {
    local run=fleet-power-off jobs
    on_bastion "$run 900 stage --run-id $run" >"$state/power-off-stage.log" 2>&1 || { tail "$state/power-off-stage.log"; return 1; }
    shape_executors add
    on_bastion "$run 900 transform --run-id $run --no-publish" >"$state/power-off.log" 2>&1 &
    local client=$! i running=0 done_at_kill
    for ((i = 0; i < 300; i++)); do
        read -r _ running <<<"$(jobs_in)"
        [ "${running:-0}" -gt 0 ] && break
        sleep 0.1
    done
    [ "${running:-0}" -gt 0 ] || { fail "no job ever ran"; shape_executors del; return 1; }
    # Two seconds into the first jobs: both executors hold running tasks.
    sleep 2
    read -r done_at_kill running <<<"$(jobs_in)"
    power_off exec2
    local killed=$(date +%s)
    say "exec2 powered off with $running job(s) of the transform running"
    local rc=0
    wait "$client" || rc=$?
    shape_executors del
    [ "$rc" = 0 ] || { tail -n 30 "$state/power-off.log"; fail "the transform failed after exec2 lost power"; return 1; }
    read -r jobs _ <<<"$(jobs_in)"
    say "transform finished $(($(date +%s) - killed)) s after the power-off; $((jobs - done_at_kill)) jobs completed after it;" \
        "$(grep -c 're-submitting' "$state/power-off.log") step re-submissions"
    [ $((jobs - done_at_kill)) -gt 0 ] || { fail "the transform had already done its work when exec2 went down"; return 1; }
    wait_registered "$net.11" 60 || return 1
    on_bastion "$run 900 runs --compare $lake_run $run" | sed 's/^/   /'
    [ "${PIPESTATUS[0]}" = 0 ] || { fail "tables differ from the undisturbed run"; return 1; }
}
executor_reboot_rejoins() {
    local before
    before=$(wc -l <"$state/exec2/console.log")
    boot_host exec2
    wait_booted exec2 || return 1
    [ "$(in_host exec2 systemctl is-active movielens-executor)" = active ] || { fail "movielens-executor not active after reboot"; return 1; }
    local runs
    runs=$(in_host exec2 grep -c "release $release_sha installed" /var/log/cloud-init-output.log)
    say "exec2 back; user data ran $runs time(s) in its life (once per instance)"
    [ "$runs" = 1 ] || { fail "user data ran again on reboot"; return 1; }
    wait_registered "$net.11 $net.12" 90
}
# A retry of the DAG's transform while its first attempt runs: never two at once.
retried_task_never_runs_twice() {
    local cmd
    cmd=$(airflow tasks render movielens transform 2026-11-26 2>/dev/null | awk '/^# property: command/ {getline; getline; print; exit}')
    [ -z "$cmd" ] && cmd=$(airflow tasks render movielens transform 2026-11-26 2>/dev/null | grep -m1 '^movielens-run ')
    case "$cmd" in movielens-run\ "$lake_run"\ *) ;; *) fail "rendered command '$cmd'"; return 1 ;; esac
    say "the task's command: $cmd"
    # Attempt 1, with a pseudo-terminal as the SSHOperator opens it.
    bastion_ssh -tt "$cmd" >"$state/attempt1.log" 2>&1 &
    local first=$! i
    for ((i = 0; i < 100; i++)); do
        in_host bastion pgrep -f "movielens --config /etc/movielens/movielens.toml transform" >/dev/null && break
        sleep 0.1
    done
    # Attempt 2 as Airflow's retry would: waits for the first to end.
    bastion_ssh -tt "$cmd" >"$state/attempt2.log" 2>&1 &
    local second=$!
    # Attempt 3 with no patience: refused, with a reason.
    bastion_ssh "MLRUN_WAIT_SECS=1 $cmd" >"$state/attempt3.log" 2>&1
    local third=$?
    wait "$first"
    local r1=$?
    wait "$second"
    local r2=$?
    say "attempt 1 exit $r1, attempt 2 exit $r2, attempt 3 exit $third: $(grep -o 'another attempt[^;]*' "$state/attempt3.log" | head -1)"
    in_host bastion journalctl -t movielens-run --no-pager -o short-iso | grep "run $lake_run" | tail -n 6 | sed 's/^/   /'
    [ "$r1" = 0 ] && [ "$r2" = 0 ] && [ "$third" = 75 ] || return 1
    # Never two at once: in the journal, every start follows the previous end.
    in_host bastion journalctl -t movielens-run --no-pager -o cat | grep "run $lake_run" | tail -n 4 | awk '
        / started:/ { if (open) bad = 1; open = 1 }
        / ended:/ { open = 0 }
        END { exit bad }' || { fail "two attempts overlapped"; return 1; }
}
# Airflow killed the task (its SSH client is gone): the session hangs up and
# the remote command stops cleanly, releasing its lock.
killed_task_stops_its_command() {
    local run=fleet-hangup
    on_bastion "$run 900 stage --run-id $run" >/dev/null 2>&1 || return 1
    shape_executors add
    bastion_ssh -tt "movielens-run $run 900 transform --run-id $run --no-publish" >"$state/hangup.log" 2>&1 &
    local i
    for ((i = 0; i < 100; i++)); do
        in_host bastion pgrep -f "transform --run-id $run" >/dev/null && break
        sleep 0.1
    done
    sleep 3
    # The SSH client itself (inside the Airflow host), as on_kill closes it.
    pkill -TERM -f "^ssh .*movielens-run $run "
    local stopped=""
    for ((i = 0; i < 300; i++)); do
        in_host bastion pgrep -f "transform --run-id $run" >/dev/null || { stopped=$i; break; }
        sleep 0.1
    done
    shape_executors del
    [ -n "$stopped" ] || { fail "the remote transform still runs 30 s after its session hung up"; return 1; }
    local ended
    ended=$(in_host bastion journalctl -t movielens-run --no-pager -o cat | grep "run $run ended" | tail -n 1)
    say "remote command stopped $((stopped / 10)).$((stopped % 10)) s after the hang-up: $ended"
    case "$ended" in *"exit 129" | *"exit 143") ;; *) fail "expected a clean stop on the hang-up (exit 129 or 143)"; return 1 ;; esac
    # Its lock is free: the next attempt starts at once.
    bastion_ssh "MLRUN_WAIT_SECS=1 movielens-run $run 60 runs" >/dev/null || { fail "the lock of run $run is still held"; return 1; }
}

ssh-keygen -q -t ed25519 -N '' -C admin@fleet -f "$state/admin_key"
step "host image (debootstrap, cached)" image || exit 1
step "release package (deploy/package.sh)" package || exit 1
step "disk space for the hosts" disk_space || exit 1
step "user data rendered by terraform" render_user_data || exit 1
step "network namespaces and bridge" network || exit 1
step "S3 (moto) and Kaggle/FRED stand-in" outside_world || exit 1
step "warehouse host boots" warehouse_host || exit 1
step "EC2 hosts boot from their user data" ec2_hosts_boot || exit 1
step "every unit active" units_active
step "every executor registered (scheduler REST API)" executors_registered || exit 1
step "airflow host boots" airflow_host || exit 1
step "operator sets up the bastion over SSH" bastion_setup || exit 1
step "airflow runs the DAG over SSH" dag_run || exit 1
step "warehouse holds the DAG run" warehouse_holds_the_run
step "report is in the lake" report_in_lake
step "work ran on both executors" work_spread_over_executors
step "ops: metrics, cluster status and a cancel from the bastion" ops_see_and_steer
step "fault: executor host powered off mid-transform" executor_power_off_mid_transform
step "fault: executor host rebooted rejoins" executor_reboot_rejoins
step "fault: retried task while the first attempt runs" retried_task_never_runs_twice
step "fault: killed task stops its remote command" killed_task_stops_its_command
[ "$failed" -eq 0 ]
