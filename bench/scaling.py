"""How time and memory grow with the data: scale 4 against scale 1, interleaved.

The issue's target "scale 4 takes at most 4.4x the time of scale 1" is a
ratio of two timings. On these shared machines the speed drifts by a third
within an hour (bench/results: DuckDB took 8.5 s and 11.2 s on the same data
in one afternoon), so two separate `bench.py` runs can report almost any ratio.
Here both scales are prepared first, then every round runs each engine once on
each scale, alternating, so drift touches both sides of the ratio alike.
DuckDB runs too, as a control: its ratio shows what the machine and the data
do to an engine we did not write.

Reports, per engine: the median time at each scale, the ratio of the medians,
the ratio within each round, and the peak RSS per process at each scale.
Run through bench/run.sh --scaling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import (ENGINES, REPO, bench_env, catalogue_marts, commit_id, compare, curated_tables, local_cluster,
                   peer_tables, prepare, run_measured, run_on_cluster, run_peer, transform_cmd, warm_landed_ratings,
                   write_results)

LABELS = {"embedded": ENGINES["embedded"], "cluster": ENGINES["cluster"], "duckdb": f"{ENGINES['duckdb']} (control)"}


def run_once(engine: str, movielens: str, lake: Path, work: Path, bin_dir: Path, env: dict,
             run_id: str, marts: list[str], models_json: Path) -> tuple[float, dict[str, int], dict[str, Path]]:
    """One timed run of `engine` on `lake`: (wall s, peak RSS per process, output
    tables: the catalogue's `marts` and fact_rating; `models_json` for the peers)."""
    if engine == "embedded":
        wall, peaks, _ = run_measured(transform_cmd(movielens, lake, run_id), env, work / "embedded.log")
    elif engine == "cluster":
        # A fresh cluster per run, so its processes' peak RSS is this run's.
        with local_cluster(env, lake, work, bin_dir) as cluster:
            cmd = transform_cmd(movielens, lake, run_id, "--scheduler", cluster.url)
            wall, peaks, _ = run_on_cluster(cluster, cmd, env, work / "cluster.log")
    else:
        out = work / engine
        shutil.rmtree(out, ignore_errors=True)
        wall, peaks, _ = run_peer(engine, lake, out, models_json, env, work / f"{engine}.log")
        return wall, peaks, peer_tables(engine, out, marts)
    return wall, peaks, curated_tables(lake, run_id, marts)


def main() -> None:
    parser = argparse.ArgumentParser(description="time and memory at two scales, interleaved")
    parser.add_argument("--scales", default="1.0,4.0", help="small,large")
    parser.add_argument("--runs", type=int, default=3, help="rounds; each runs every engine at both scales")
    parser.add_argument("--bin", type=Path, default=REPO / "target" / "release")
    parser.add_argument("--engines", default="embedded,cluster,duckdb")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temp dir)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    small, large = (float(s) for s in args.scales.split(","))
    engines = args.engines.split(",")
    unknown = set(engines) - set(LABELS)
    if unknown:
        raise SystemExit(f"bench: unknown engines {sorted(unknown)}; known: {sorted(LABELS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="movielens-scaling-"))
    movielens = str(args.bin / "movielens")
    env = bench_env()
    work.mkdir(parents=True, exist_ok=True)
    models_json = work / "models.json"
    marts = catalogue_marts(movielens, env, models_json)

    prepared = {}
    for scale in (small, large):
        lake, ratings, csv_bytes, _ = prepare(movielens, env, work / f"scale{scale}", scale)
        prepared[scale] = {"lake": lake, "ratings": ratings, "csv_bytes": csv_bytes}
    # Preparing the large scale can push the small one's ratings out of the
    # page cache (its first round then read them from disk): warm them again.
    warm_landed_ratings(prepared[small]["lake"])

    walls = {e: {small: [], large: []} for e in engines}
    peaks = {e: {small: {}, large: {}} for e in engines}
    for k in range(args.runs):
        for scale in (small, large):
            outputs = {}
            for engine in engines:
                scratch = work / f"scale{scale}"
                wall, rss, out = run_once(engine, movielens, prepared[scale]["lake"], scratch, args.bin, env,
                                          f"{engine}{k}", marts, models_json)
                walls[engine][scale].append(wall)
                for name, value in rss.items():
                    peaks[engine][scale][name] = max(peaks[engine][scale].get(name, 0), value)
                outputs[engine] = out
                print(f"bench: round {k + 1}, scale {scale}, {engine}: {wall:.2f} s", flush=True)
            reference = engines[0]
            for engine in engines[1:]:
                compare(engine, outputs[engine], outputs[reference])
            # Keep the disk to one run's output per engine.
            for engine in ("embedded", "cluster"):
                if engine in engines and k + 1 < args.runs:
                    shutil.rmtree(prepared[scale]["lake"] / "curated" / "runs" / f"{engine}{k}",
                                  ignore_errors=True)

    commit = commit_id()
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    growth = prepared[large]["ratings"] / prepared[small]["ratings"]
    lines = [f"# movielens scaling, scale {small} vs {large}, interleaved",
             "",
             f"{os.cpu_count()} cores, {args.runs} rounds (each: every engine at scale {small}, then at "
             f"{large}), commit {commit}, {at}. Ratings: {prepared[small]['ratings']:,} vs "
             f"{prepared[large]['ratings']:,} ({growth:.2f}x). Every round's marts and fact_rating row "
             f"count agree between engines.",
             "",
             f"| engine | median s at {small} | median s at {large} | ratio of medians | ratio per round | "
             f"peak RSS at {small} | peak RSS at {large} |",
             "|---|---:|---:|---:|---|---|---|"]
    summary = {}
    for engine in engines:
        a, b = walls[engine][small], walls[engine][large]
        ratio = statistics.median(b) / statistics.median(a)
        rounds = [y / x for x, y in zip(a, b)]
        summary[engine] = {"walls": {str(small): a, str(large): b}, "ratio_of_medians": ratio,
                           "ratio_per_round": rounds,
                           "peak_rss": {str(s): peaks[engine][s] for s in (small, large)}}

        def rss(scale: float) -> str:
            return ", ".join(f"{n} {v / 2**20:.0f} MiB" for n, v in peaks[engine][scale].items())

        lines.append(f"| {LABELS[engine]} | {statistics.median(a):.2f} | {statistics.median(b):.2f} | "
                     f"{ratio:.2f} | {' / '.join(f'{r:.2f}' for r in rounds)} | {rss(small)} | {rss(large)} |")
    text = "\n".join(lines) + "\n"
    meta = {"scales": [small, large], "ratings": [prepared[s]["ratings"] for s in (small, large)],
            "cores": os.cpu_count(), "runs": args.runs, "commit": commit, "at": at}
    write_results(args.results, at, f"scaling{small}-{large}", text, {"meta": meta, "results": summary})
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
