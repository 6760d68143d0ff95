"""Benchmark: movielens (embedded and on a local cluster) against PySpark,
DuckDB and DataFusion on the same generated data.

Every engine does the same work: read the raw ratings CSV and the staged
metadata, map ratings through links, write fact_rating and the marts as
parquet. Each is timed `--runs` times (median reported), as a separate process
so its peak RSS is its own; the marts of every engine are compared with
movielens' before anything is reported. Results go to bench/results/ as
markdown and JSON. Run through bench/run.sh.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pyarrow.dataset as ds

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO / "bench" / "peers.py"


def descendants(root: int) -> list[int]:
    """root and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class Measured(NamedTuple):
    wall: float
    """Seconds from start to exit."""
    peaks: dict[str, int]
    """Peak RSS in bytes per process name of the command's tree."""
    cpu: float
    """CPU seconds (user + system) of the command's tree."""


def run_measured(cmd: list[str], env: dict | None = None, log: Path | None = None) -> Measured:
    """Runs cmd, measured.

    The tree is sampled every 0.2 s for its peak RSS (a JVM started by PySpark
    is not a waited-for child, so wait4's ru_maxrss would miss it). CPU time is
    wait4's (every thread, and every child the command reaped) or, when more,
    the sum over the tree's processes as last sampled (which counts that JVM,
    but misses up to 0.2 s of each process's end)."""
    peaks: dict[str, int] = {}
    cpu_seen: dict[int, float] = {}
    done = threading.Event()

    def sample(root: int) -> None:
        while not done.is_set():
            for pid in descendants(root):
                try:
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                    peaks[name] = max(peaks.get(name, 0), vm_hwm(pid))
                    cpu_seen[pid] = cpu_seconds(pid)
                except (OSError, IndexError, ValueError):
                    continue
            done.wait(0.2)

    started = time.perf_counter()
    with open(log or os.devnull, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=sample, args=(proc.pid,))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    if proc.returncode != 0:
        tail = log.read_text()[-3000:] if log else ""
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed:\n{tail}")
    return Measured(wall, peaks, max(usage.ru_utime + usage.ru_stime, sum(cpu_seen.values())))


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm(pid: int) -> int:
    """Peak RSS of a running process (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def prepare(movielens: str, env: dict, work: Path, scale: float) -> tuple[Path, int, int, dict]:
    """Generates `scale` into work/data and stages it into work/lake; returns
    (lake, ratings, ratings CSV bytes, stage's time and peak RSS). Every engine then starts alike: what was
    just written is flushed to disk (else the first engine timed competes with
    the kernel's writeback) and the landed ratings are read once, so every
    engine finds them cached."""
    lake = work / "lake"
    print(f"bench: generating scale {scale} into {work}", flush=True)
    shutil.rmtree(work / "data", ignore_errors=True)
    shutil.rmtree(lake, ignore_errors=True)
    subprocess.run([movielens, "generate", "--scale", str(scale), "--seed", "42",
                    "--out", str(work / "data")], check=True, env=env, stdout=subprocess.DEVNULL)
    stage_secs, stage_peaks, _ = run_measured(
        [movielens, "--lake", str(lake), "stage", "--input", str(work / "data" / "kaggle")], env,
        work / "stage.log")
    print(f"bench: stage {stage_secs:.2f} s, peak RSS {max(stage_peaks.values()) / 2**20:.0f} MiB", flush=True)
    ratings = sum(1 for _ in open(work / "data" / "kaggle" / "ratings.csv", "rb")) - 1
    csv_bytes = (work / "data" / "kaggle" / "ratings.csv").stat().st_size
    os.sync()
    # The generator's copy is not read again (the engines read the lake), but
    # its pages would stay cached and, at scale 10 (7.8 GB beside the lake's
    # 7.7 GB and every run's output), push the landed ratings out of a 24 GiB
    # page cache, so that a run read part of them from disk.
    for path in (work / "data").rglob("*"):
        if path.is_file():
            drop_from_page_cache(path)
    warm_landed_ratings(lake)
    return lake, ratings, csv_bytes, {"secs": stage_secs, "peak_rss": max(stage_peaks.values())}


def warm_landed_ratings(lake: Path) -> None:
    """Reads the lake's landed ratings once, so that the engines find them cached."""
    for part in sorted((lake / "raw").rglob("*.csv")):
        with open(part, "rb") as f:
            while f.read(1 << 24):
                pass


def drop_from_page_cache(path: Path) -> None:
    """Asks the kernel to drop `path`'s cached pages (clean ones: call after a sync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def transform_cmd(movielens: str, lake: Path, run_id: str, *extra: str) -> list[str]:
    """The timed work: `movielens transform` of `lake`'s staged run as `run_id`,
    not checked or published (`extra`: e.g. `--scheduler URL`)."""
    return [movielens, "--lake", str(lake), "transform", "--no-publish", "--run-id", run_id, *extra]


CLUSTER_URL = "df://127.0.0.1:50150"


class LocalCluster(NamedTuple):
    url: str
    """df://host:port of its scheduler."""
    pids: dict[str, int]
    """Its processes by name (scheduler, executor-1, ...)."""

    def peaks(self) -> dict[str, int]:
        """Each process's peak RSS so far."""
        return {name: vm_hwm(pid) for name, pid in self.pids.items()}

    def cpu(self) -> float:
        """CPU seconds its processes have used so far."""
        return sum(cpu_seconds(pid) for pid in self.pids.values())


@contextlib.contextmanager
def local_cluster(env: dict, lake: Path, work: Path, bin_dir: Path, executors: int = 2,
                  url: str = CLUSTER_URL, pinned: bool = True):
    """A scheduler and `executors` x 1 vcore (deploy/local/cluster.sh, which
    returns once the scheduler lists them all) at `url` for the duration.
    `pinned` binds each executor to a CPU of its own, as on a 1-vcore host;
    unpinned, an executor of one task slot still spreads its runtime's and
    writers' threads over every core."""
    cluster_dir = work / f"cluster-{executors}x1"
    cenv = dict(env, MOVIELENS_LAKE=str(lake), MOVIELENS_CLUSTER__EXECUTOR_VCORES="1",
                MOVIELENS_CLUSTER__EXECUTOR_MEMORY_MB="4096", CLUSTER_DIR=str(cluster_dir),
                MOVIELENS_BIN_DIR=str(bin_dir))
    script = str(REPO / "deploy" / "local" / "cluster.sh")
    pin = ["--pin"] if pinned else []
    subprocess.run([script, "up", "--executors", str(executors), "--port", url.rsplit(":", 1)[1], *pin],
                   check=True, env=cenv, stdout=subprocess.DEVNULL)
    try:
        yield LocalCluster(url, {p.stem: int(p.read_text()) for p in sorted(cluster_dir.glob("*.pid"))})
    finally:
        subprocess.run([script, "down"], env=cenv, stdout=subprocess.DEVNULL)


def run_on_cluster(cluster: LocalCluster, cmd: list[str], env: dict, log: Path) -> Measured:
    """`cmd` (a client of `cluster`) measured, with the cluster's CPU time over
    the run added to the client's and the cluster's processes' peak RSS."""
    before = cluster.cpu()
    client = run_measured(cmd, env, log)
    peaks = {"client": max(client.peaks.values(), default=0), **cluster.peaks()}
    return Measured(client.wall, peaks, client.cpu + cluster.cpu() - before)


def catalogue_marts(movielens: str, env: dict, models_json: Path) -> list[str]:
    """The marts of `movielens models --json` (written to `models_json` for
    bench/peers.py too): the harness compares every one, with no list of its own."""
    out = subprocess.run([movielens, "models", "--json"], env=env, check=True,
                         capture_output=True, text=True).stdout
    models_json.write_text(out)
    return [m["name"] for m in json.loads(out) if m["mart"]]


def curated_tables(lake: Path, run_id: str, marts: list[str]) -> dict[str, Path]:
    """The tables the harness compares, as a movielens transform wrote them for `run_id`."""
    base = lake / "curated" / "runs" / run_id
    return {t: base / t for t in marts + ["fact_rating"]}


def peer_tables(engine: str, out: Path, marts: list[str]) -> dict[str, Path]:
    """The same tables as bench/peers.py wrote them for `engine` under `out`."""
    suffix = ".parquet" if engine == "duckdb" else ""
    return {t: out / f"{t}{suffix}" for t in marts + ["fact_rating"]}


def bench_env() -> dict:
    """This environment without the caller's MOVIELENS_* settings, logging warnings only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIELENS_")}
    env["MOVIELENS_LOG__LEVEL"] = "warn"
    return env


def run_peer(engine: str, lake: Path, out: Path, models_json: Path, env: dict,
             log: Path) -> tuple[float, dict[str, int]]:
    """bench/peers.py's version of the work in `engine`, 2 threads, timed."""
    return run_measured([sys.executable, str(PEERS), "--engine", engine, "--lake", str(lake),
                         "--out", str(out), "--threads", "2", "--models", str(models_json)], env, log)


def commit_id() -> str:
    """The checkout's short commit, for the results' header; "+changes" when
    the source differs from it (bench/results/ aside), so figures of a binary
    built from uncommitted code are not credited to the commit."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "--", ".", ":(exclude)bench/results"],
                             capture_output=True, text=True).stdout.strip()
    return f"{head}+changes" if changed else head


def write_results(directory: Path, at: str, label: str, text: str, payload: dict) -> None:
    """Prints the markdown table and writes it, and the figures as JSON, under `directory`
    as `<at, to the second, without colons>-<label>.md` and `.json`."""
    stem = f"{at[:19].replace(':', '')}-{label}"
    print(text)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.md").write_text(text)
    (directory / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    print(f"bench: wrote {directory / stem}.md and .json")


def table(path: Path) -> list[dict]:
    """Rows of a parquet file or directory, sorted, with floats kept as floats."""
    rows = ds.dataset(str(path), format="parquet").to_table().to_pylist()
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return str(a) == str(b)


def compare(engine: str, got: dict[str, Path], want: dict[str, Path]) -> None:
    for mart in (t for t in want if t != "fact_rating"):
        g, w = table(got[mart]), table(want[mart])
        if len(g) != len(w):
            raise SystemExit(f"bench: {engine} {mart}: {len(g)} rows, movielens {len(w)}")
        for i, (rg, rw) in enumerate(zip(g, w)):
            for key in rw:
                if not same(rg.get(key), rw[key]):
                    raise SystemExit(
                        f"bench: {engine} {mart} row {i} column {key}: {rg.get(key)!r} vs movielens {rw[key]!r}")
    n_got = ds.dataset(str(got["fact_rating"]), format="parquet").count_rows()
    n_want = ds.dataset(str(want["fact_rating"]), format="parquet").count_rows()
    if n_got != n_want:
        raise SystemExit(f"bench: {engine} fact_rating: {n_got} rows, movielens {n_want}")


def check_reference(movielens: str, work: Path, lake: Path, run_id: str, env: dict) -> Measured:
    """Publishes `run_id` (its checks must pass; the timed transforms do not
    check or publish), then its answers against tests/answers_reference.rs's
    independent computation on the same generated files (fails the bench).
    Returns the publish step measured: its checks read every fact row, so its
    peak RSS belongs next to the transform's."""
    published = run_measured([movielens, "--lake", str(lake), "publish", run_id], env, work / "publish.log")
    print(f"bench: checks passed and {run_id} published in {published.wall:.2f} s, {published.cpu:.1f} CPU s "
          f"(peak RSS {max(published.peaks.values()) / 2**20:.0f} MiB)", flush=True)
    started = time.perf_counter()
    subprocess.run(["cargo", "test", "--release", "-q", "-p", "movielens", "--test", "answers_reference",
                    "published_answers_equal_the_reference", "--", "--ignored", "--exact", "--nocapture"],
                   check=True, cwd=REPO,
                   env=dict(env, MOVIELENS_REFERENCE_DATA=str(work / "data"), MOVIELENS_REFERENCE_LAKE=str(lake)))
    print(f"bench: answers equal the reference ({time.perf_counter() - started:.0f} s)", flush=True)
    return published


ENGINES = {
    "embedded": "movielens embedded",
    "cluster": "movielens cluster (2 executors x 1 vcore)",
    "cluster1": "movielens cluster (1 executor x 1 vcore)",
    "duckdb": "DuckDB",
    "datafusion": "DataFusion (Python, 1 process)",
    "spark": "PySpark local[2]",
}
CLUSTER_EXECUTORS = {"cluster": (2, CLUSTER_URL), "cluster1": (1, "df://127.0.0.1:50160")}


def ratio_lines(results: dict[str, dict]) -> list[str]:
    """The ratios the performance issue sets targets for, where both sides ran
    (medians, and per round: the rounds interleave, so each pair ran side by side)."""
    def pair(a: str, b: str, what: str) -> str | None:
        if ENGINES[a] not in results or ENGINES[b] not in results:
            return None
        x, y = results[ENGINES[a]], results[ENGINES[b]]
        rounds = " / ".join(f"{p / q:.2f}" for p, q in zip(x["walls"], y["walls"]))
        return f"- {what}: {x['median'] / y['median']:.2f} (per round {rounds})"
    lines = [pair("embedded", "duckdb", "embedded / DuckDB time"),
             pair("cluster1", "cluster", "strong scaling, 1 executor / 2 executors time"),
             pair("cluster", "embedded", "cluster (2 x 1) / embedded time")]
    return [line for line in lines if line]


def main() -> None:
    parser = argparse.ArgumentParser(description="movielens vs Spark, DuckDB, DataFusion")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin", type=Path, default=REPO / "target" / "release")
    parser.add_argument("--engines", default="embedded,cluster,duckdb,datafusion,spark",
                        help=f"any of {','.join(ENGINES)}")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temp dir)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--unpinned", action="store_true",
                        help="let each cluster executor run on every core (default: each is pinned "
                             "to one CPU, as a 1-vcore host is)")
    parser.add_argument("--reference", action="store_true",
                        help="also check the published answers against the plain-Rust reference "
                             "(tests/answers_reference.rs; its test binary is built in release)")
    args = parser.parse_args()
    engines = args.engines.split(",")
    unknown = set(engines) - set(ENGINES)
    if unknown:
        raise SystemExit(f"bench: unknown engines {sorted(unknown)}; known: {', '.join(ENGINES)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="movielens-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    movielens = str(args.bin / "movielens")
    env = bench_env()
    models_json = work / "models.json"
    marts = catalogue_marts(movielens, env, models_json)

    lake, ratings, csv_bytes, staged = prepare(movielens, env, work, args.scale)

    runs: dict[str, list[Measured]] = {e: [] for e in engines}
    outputs: dict[str, dict[str, Path]] = {}
    with contextlib.ExitStack() as stack:
        # Every cluster is up (its executors registered) before anything is
        # timed, and stays up: the rounds interleave the engines, so a drift
        # of the machine's speed touches all of them alike.
        clusters = {}
        for engine in (e for e in engines if e in CLUSTER_EXECUTORS):
            executors, url = CLUSTER_EXECUTORS[engine]
            clusters[engine] = stack.enter_context(local_cluster(env, lake, work, args.bin, executors, url,
                                                                     pinned=not args.unpinned))
        for k in range(args.runs):
            for engine in engines:
                log = work / f"{engine}.log"
                if engine == "embedded":
                    m = run_measured(transform_cmd(movielens, lake, f"emb{k}"), env, log)
                    outputs[engine] = curated_tables(lake, f"emb{k}", marts)
                elif engine in clusters:
                    cmd = transform_cmd(movielens, lake, f"{engine}-{k}", "--scheduler", clusters[engine].url)
                    m = run_on_cluster(clusters[engine], cmd, env, log)
                    outputs[engine] = curated_tables(lake, f"{engine}-{k}", marts)
                else:
                    out = work / engine
                    shutil.rmtree(out, ignore_errors=True)
                    m = run_peer(engine, lake, out, models_json, env, log)
                    outputs[engine] = peer_tables(engine, out, marts)
                runs[engine].append(m)
                print(f"bench: round {k + 1}, {engine}: {m.wall:.2f} s, {m.cpu:.1f} CPU s", flush=True)

    results: dict[str, dict] = {}
    for engine, measured in runs.items():
        rss: dict[str, int] = {}
        for m in measured:
            for name, value in m.peaks.items():
                rss[name] = max(rss.get(name, 0), value)
        walls, cpus = [m.wall for m in measured], [m.cpu for m in measured]
        results[ENGINES[engine]] = {"walls": walls, "median": statistics.median(walls), "cpu_secs": cpus,
                                    "median_cpu_secs": statistics.median(cpus), "peak_rss": rss}

    reference = engines[0]
    for engine, out in outputs.items():
        if engine != reference:
            compare(engine, out, outputs[reference])
    print(f"bench: every engine's marts and fact_rating row count agree with {ENGINES[reference]}", flush=True)
    published = None
    if args.reference:
        last = args.runs - 1
        published = check_reference(movielens, work, lake,
                                    f"emb{last}" if "embedded" in engines else f"{reference}-{last}", env)

    publish = published and {"secs": published.wall, "cpu_secs": published.cpu,
                             "peak_rss": max(published.peaks.values())}
    base = results[ENGINES[reference]]["median"]
    commit = commit_id()
    meta = {"scale": args.scale, "ratings": ratings, "ratings_csv_bytes": csv_bytes, "cores": os.cpu_count(),
            "stage": staged, "reference_checked": args.reference, "executors_pinned": not args.unpinned,
            "publish": publish,
            "runs": args.runs, "commit": commit, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    lines = [f"# movielens benchmark, scale {args.scale} ({ratings:,} ratings, {csv_bytes / 1e6:.0f} MB CSV)",
             "",
             f"{meta['cores']} cores, {args.runs} rounds, each running every engine once in turn (medians), "
             f"commit {commit}, {meta['at']}. Ratio = engine time / {ENGINES[reference]} time. CPU s = user + "
             f"system of the engine's process tree (on a cluster, plus the scheduler's and executors' over "
             f"the run; each executor "
             f"{'runs on every core' if args.unpinned else 'pinned to one CPU of its own'}). Stage (land + stage) {staged['secs']:.2f} s, peak RSS {staged['peak_rss'] / 2**20:.0f} MiB."
             + (f" Publish (every check over the last run) {publish['secs']:.2f} s, {publish['cpu_secs']:.1f} CPU s, "
                f"peak RSS {publish['peak_rss'] / 2**20:.0f} MiB; published answers equal the "
                "plain-Rust reference." if publish else ""),
             "",
             "| engine | median s | runs s | median CPU s | peak RSS per process | ratings/s | ratio |",
             "|---|---:|---|---:|---|---:|---:|"]
    for engine, r in results.items():
        rss = ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in r["peak_rss"].items())
        walls = " / ".join(f"{w:.2f}" for w in r["walls"])
        lines.append(f"| {engine} | {r['median']:.2f} | {walls} | {r['median_cpu_secs']:.1f} | {rss} | "
                     f"{ratings / r['median']:,.0f} | {r['median'] / base:.2f} |")
    ratios = ratio_lines(results)
    if ratios:
        lines += ["", *ratios]
    text = "\n".join(lines) + "\n"
    write_results(args.results, meta["at"], f"scale{args.scale}", text, {"meta": meta, "results": results})
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
