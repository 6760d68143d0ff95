"""Runs deploy/docker/compose.yaml's services as containers of one image, with
no Docker engine: each container is the image's root filesystem (a writable
overlay per container) run by systemd-nspawn as the image's user, in its own
network namespace on a private bridge, with /etc/hosts naming every service
(what Compose's DNS does). Services start in depends_on order and their
conditions are honoured: service_completed_successfully waits for exit 0,
service_healthy runs the service's healthcheck inside the container.

An image this machine cannot pull (motoserver/moto) is stood in by the same
program from PyPI (moto_server), run with the service's command in the
service's namespace.

    compose.py --rootfs DIR --image-config FILE up    # every service not in a profile
    compose.py --rootfs DIR --image-config FILE run SERVICE [ARGS...]
    compose.py down
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "docker" / "compose.yaml"
STATE = Path("/run/movielens-docker")
NET = "203.0.113"  # TEST-NET-3: its own range, only inside our namespaces
STAND_INS = {"motoserver/moto": "moto_server"}


def sh(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, **kw)


def log(msg: str) -> None:
    print(f"compose: {msg}", file=sys.stderr, flush=True)


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def containers(services: dict) -> list[tuple[str, str]]:
    """(container name, service) in start order; replicas are NAME-1, NAME-2."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in order:
            return
        if name in path:
            raise SystemExit(f"compose: depends_on cycle through {name}")
        for dep in services[name].get("depends_on", {}) or {}:
            visit(dep, path + (name,))
        order.append(name)

    for name in services:
        visit(name)
    out = []
    for name in order:
        replicas = (services[name].get("deploy") or {}).get("replicas", 1)
        out += [(name if replicas == 1 else f"{name}-{k}", name) for k in range(1, replicas + 1)]
    return out


def addresses(services: dict) -> dict[str, str]:
    """Container name → address; the service name resolves to its first replica."""
    names = [c for c, _ in containers(services)] + ["client"]
    addr = {c: f"{NET}.{10 + i}" for i, c in enumerate(names)}
    for c, s in containers(services):
        addr.setdefault(s, addr[c])
    return addr


def interpolate(value: str) -> str:
    # Compose's escape for a literal $ (the executor's "$$(hostname -i)").
    return value.replace("$$", "$")


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [interpolate(str(v)) for v in (value if isinstance(value, list) else value.split())]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: interpolate(str(v)) for k, v in env.items()}


def network(services: dict) -> dict[str, str]:
    addr = addresses(services)
    sh("ip", "netns", "add", "mld-br")
    sh("ip", "-n", "mld-br", "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", "mld-br", "link", "set", "br0", "up")
    for name in [c for c, _ in containers(services)] + ["client"]:
        ns, veth = f"mld-{name}", f"vd{list(addr).index(name)}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", veth, "netns", "mld-br")
        sh("ip", "-n", "mld-br", "link", "set", veth, "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", f"{addr[name]}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    return addr


def hosts_file(addr: dict[str, str]) -> str:
    lines = ["127.0.0.1 localhost"] + [f"{ip} {name}" for name, ip in addr.items()]
    return "\n".join(lines) + "\n"


def overlay(rootfs: Path, name: str, addr: dict[str, str]) -> Path:
    base = STATE / "containers" / name
    for d in ["upper", "work", "merged"]:
        (base / d).mkdir(parents=True, exist_ok=True)
    sh("mount", "-t", "overlay", "overlay", "-o",
       f"lowerdir={rootfs},upperdir={base}/upper,workdir={base}/work", str(base / "merged"))
    merged = base / "merged"
    (merged / "etc" / "hosts").write_text(hosts_file(addr))
    (merged / "etc" / "hostname").write_text(name + "\n")
    (merged / "etc" / "resolv.conf").write_text("")
    return merged


def image_config(path: Path) -> dict:
    """Entrypoint, Cmd, User, WorkingDir and Env of the image (buildah inspect)."""
    info = json.loads(path.read_text())
    cfg = info.get("OCIv1", {}).get("config", {}) or info.get("Docker", {}).get("config", {})
    return {
        "entrypoint": cfg.get("Entrypoint") or [],
        "cmd": cfg.get("Cmd") or [],
        "user": cfg.get("User") or "root",
        "workdir": cfg.get("WorkingDir") or "/",
        "env": dict(e.split("=", 1) for e in cfg.get("Env") or []),
    }


def argv(service: dict, image: dict, args: list[str] | None) -> list[str]:
    entry = as_list(service.get("entrypoint")) if "entrypoint" in service else image["entrypoint"]
    if args is not None:
        return entry + args
    cmd = as_list(service.get("command")) if "command" in service else (
        [] if "entrypoint" in service else image["cmd"])
    return entry + cmd


def nspawn(name: str, merged: Path, image: dict, env: dict[str, str], command: list[str]) -> list[str]:
    """The command that runs `command` in container `name`, from its own cgroup
    (nspawn puts its payload under the cgroup it starts in)."""
    cg = " ".join(f"/sys/fs/cgroup/{c}/mldocker/{name}" for c in ["systemd", "unified"])
    setenv = [f"--setenv={k}={v}" for k, v in {**image["env"], **env}.items()]
    spawn = ["systemd-nspawn", "-q", "-D", str(merged), "--register=no", "--keep-unit",
             "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=pipe",
             f"--machine=mld-{name}", f"--hostname={name}", "--as-pid2",
             f"--network-namespace-path=/run/netns/mld-{name}",
             f"--user={image['user']}", f"--chdir={image['workdir']}", *setenv, "--", *command]
    script = (f"for d in {cg}; do mkdir -p $d; echo $$ > $d/cgroup.procs; done; "
              'exec "$@"')
    return ["bash", "-c", script, "nspawn", *spawn]


def healthy(name: str, merged: Path, service: dict) -> bool:
    check = service.get("healthcheck") or {}
    test = check.get("test") or []
    if not test:
        return True
    cmd = test[1:] if test[0] in ("CMD", "CMD-SHELL") else test
    if test[0] == "CMD-SHELL":
        cmd = ["sh", "-c", " ".join(cmd)]
    retries = int(check.get("retries", 30))
    interval = float(str(check.get("interval", "2s")).rstrip("s"))
    for _ in range(retries):
        r = sh("ip", "netns", "exec", f"mld-{name}", "chroot", "--userspec=10001:10001", str(merged),
               *cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return True
        time.sleep(interval)
    return False


def up(rootfs: Path, image: dict) -> None:
    services = load()
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "logs").mkdir(exist_ok=True)
    addr = network(services)
    (STATE / "addresses.json").write_text(json.dumps(addr))
    pids: dict[str, int] = {}
    for name, sname in containers(services):
        service = services[sname]
        if service.get("profiles"):
            continue
        for dep, cond in (service.get("depends_on") or {}).items():
            cond = (cond or {}).get("condition", "service_started")
            log(f"{name}: needs {dep} ({cond})")
        logf = open(STATE / "logs" / f"{name}.log", "wb")
        stand_in = next((p for img, p in STAND_INS.items() if service["image"].startswith(img)), None)
        oneoff = any((services[s].get("depends_on") or {}).get(sname, {}) ==
                     {"condition": "service_completed_successfully"} for s in services)
        if stand_in:
            cmd = ["ip", "netns", "exec", f"mld-{name}", shutil.which(stand_in) or stand_in,
                   *as_list(service.get("command"))]
            log(f"{name}: {service['image']} stood in by {' '.join(cmd[4:])}")
            merged = None
        else:
            merged = overlay(rootfs, name, addr)
            cmd = nspawn(name, merged, image, environment(service), argv(service, image, None))
            log(f"{name}: {' '.join(argv(service, image, None))}")
        started = time.time()
        if oneoff:
            r = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                raise SystemExit(f"compose: {name} exited {r.returncode} (log {logf.name}): "
                                 + Path(logf.name).read_text()[-2000:])
            log(f"{name}: completed successfully in {time.time() - started:.1f} s")
            continue
        p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        pids[name] = p.pid
        (STATE / "pids.json").write_text(json.dumps(pids))
        if merged is not None and service.get("healthcheck"):
            if not healthy(name, merged, service):
                raise SystemExit(f"compose: {name} never became healthy (log {logf.name})")
            log(f"{name}: healthy after {time.time() - started:.1f} s")


def run(rootfs: Path, image: dict, sname: str, args: list[str]) -> int:
    services = load()
    addr = json.loads((STATE / "addresses.json").read_text())
    name = "client"
    merged = overlay(rootfs, f"{name}-{int(time.time() * 1000)}", addr)
    cmd = nspawn(name, merged, image, environment(services[sname]), argv(services[sname], image, args))
    return subprocess.run(cmd).returncode


def down() -> None:
    pids = json.loads((STATE / "pids.json").read_text()) if (STATE / "pids.json").exists() else {}
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    for pid in pids.values():
        while time.time() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
              if line.split()[1].startswith(str(STATE))]
    for m in sorted(mounts, key=len, reverse=True):
        sh("umount", "-l", m, check=False)
    for c in ["systemd", "unified"]:
        root = Path(f"/sys/fs/cgroup/{c}/mldocker")
        if not root.exists():
            continue
        # Depth first: a cgroup can only go once its children have.
        for d in sorted([root, *root.rglob("*")], key=lambda p: len(p.parts), reverse=True):
            if d.is_dir():
                try:
                    d.rmdir()
                except OSError:
                    pass
    out = sh("ip", "netns", "list", capture_output=True, text=True).stdout
    for line in out.splitlines():
        ns = line.split()[0]
        if ns.startswith("mld-"):
            sh("ip", "netns", "del", ns, check=False)
    shutil.rmtree(STATE / "containers", ignore_errors=True)
    for f in ["pids.json", "addresses.json"]:
        (STATE / f).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "run", "down"])
    parser.add_argument("--rootfs", type=Path)
    parser.add_argument("--image-config", type=Path)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    a = parser.parse_args()
    if a.action == "down":
        down()
        return
    image = image_config(a.image_config)
    if a.action == "up":
        up(a.rootfs, image)
    else:
        sys.exit(run(a.rootfs, image, a.rest[0], a.rest[1:]))


if __name__ == "__main__":
    main()
