"""The transform's work on a peer engine: DuckDB, PySpark or DataFusion (Python).

Runs the same SQL files movielens runs (jobs/sql/), with the few dialect
differences rewritten, over the same inputs: the staged metadata parquet and
the raw ratings CSV parts of one lake. Writes fact_rating and the marts as
parquet under --out. Run by bench/bench.py, one process per run, so its wall
time and peak memory are measured from outside.

    movielens models --json > models.json
    python bench/peers.py --engine duckdb --lake LAKE --out DIR --threads 2 --models models.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
from datetime import datetime
from pathlib import Path

SQL = Path(__file__).resolve().parents[1] / "jobs" / "sql"



def bench_steps(models_json: Path) -> list[tuple[str, str]]:
    """(table, zone) of the "same work": every mart and fact_rating, and what
    they read, in the catalogue's order. The catalogue is `movielens models
    --json`, so a new mart is benchmarked without a list here."""
    models = json.loads(models_json.read_text())
    reads = {m["name"]: m["reads"] for m in models}
    needed: set[str] = set()
    todo = ["fact_rating"] + [m["name"] for m in models if m["mart"]]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(reads[name])
    # "jobs/sql/<zone>/<table>.sql"
    return [(m["name"], m["file"].split("/")[2]) for m in models if m["name"] in needed]


# genre_bit as jobs/src/transform/mod.rs GENRE_BIT writes it (keep the two in step).
PARAMS = {
    "top_n": "10",
    "percentile": "0.9",
    "ratings": "raw_ratings",
    "genre_bit": "CAST(1 AS BIGINT) << (CAST(row_number() OVER (ORDER BY genre) AS BIGINT) - CAST(1 AS BIGINT))",
}


def staged(lake: Path) -> tuple[dict[str, str], list[str]]:
    """Staged table directories and raw ratings parts of the lake's published run."""
    current = json.loads((lake / "staging" / "_CURRENT.json").read_text())
    run = current["run_id"]
    tables = {
        f"stg_{t}": str(lake / "staging" / "runs" / run / t)
        for t in ["movies", "movie_genres", "links", "cpi"]
    }
    ratings_dir = lake / current["inputs"]["ratings"]
    parts = sorted(glob.glob(str(ratings_dir / "part-*.csv")))
    if not parts:
        raise SystemExit(f"peers.py: no ratings parts under {ratings_dir}")
    return tables, parts


def valid_rating(lake: Path) -> str:
    """The transform's rating rule for this lake's staging run, as
    jobs/src/transform/valid_rating.rs writes it (keep the two in step: the
    peers' tables are compared with ours)."""
    current = json.loads((lake / "staging" / "_CURRENT.json").read_text())
    staged_at = int(datetime.fromisoformat(current["published_at"]).timestamp())
    return (
        "(user_id IS NOT NULL AND movielens_id IS NOT NULL "
        f"AND rated_epoch BETWEEN 788918400 AND {staged_at} "
        "AND rating BETWEEN 0.5 AND 5.0 AND rating * 2 = round(rating * 2))"
    )


def render(name: str, zone: str, rewrite, lake: Path) -> str:
    sql = (SQL / zone / f"{name}.sql").read_text()
    for key, value in {**PARAMS, "valid_rating": valid_rating(lake)}.items():
        sql = sql.replace("{{" + key + "}}", value)
    return rewrite(sql)


# Side tables: ratings_by_movielens_id and genre_popularity read rows that our
# fact_rating scans write as they read (jobs/src/ratings_csv/per_id.rs), and
# those scans read genre_mask_by_movielens_id. A peer has no such scan: it gets
# each as a view of its SQL definition, over all the ratings (a second pass
# over them, as our transform made before it had the scan), made just before
# the first step that reads it.
SIDE_TABLES = ["genre_mask_by_movielens_id", "ratings_per_file", "user_genre_masks"]

# user_genre_masks.sql over all the ratings equals this over fact_rating (whose
# rows are exactly the valid ratings that reach a movie). A peer reads it that
# way: made from the raw CSV it would cost the peer a third pass over the
# ratings, and until change 10 (docs/performance.md) genre_popularity.sql
# itself joined fact_rating to the genres, so the peers' work stays the same.
FROM_FACT = {
    "user_genre_masks": "SELECT f.user_id, bit_or(m.genre_mask) AS genre_mask "
    "FROM genre_mask_by_movielens_id AS m JOIN fact_rating AS f ON f.movielens_id = m.movielens_id "
    "GROUP BY f.user_id",
}


def render_side(name: str, rewrite, lake: Path) -> str:
    """A side table's SQL for a peer: its definition, or the same rows from fact_rating."""
    return rewrite(FROM_FACT[name]) if name in FROM_FACT else render(name, "curated", rewrite, lake)


def side_views_for(sql: str, made: set[str]) -> list[str]:
    """The side tables `sql` reads that have no view yet, each after the side
    tables it reads in turn."""
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    needed: list[str] = []
    for name in SIDE_TABLES:
        if name not in made and re.search(rf"\b{name}\b", code):
            sql = FROM_FACT.get(name) or (SQL / "curated" / f"{name}.sql").read_text()
            needed += side_views_for(sql, made | {name})
            needed.append(name)
    return list(dict.fromkeys(needed))


def run_duckdb(lake: Path, out: Path, threads: int, steps: list[tuple[str, str]]) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    tables, parts = staged(lake)
    for name, path in tables.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}/*.parquet')")
    files = ", ".join(f"'{p}'" for p in parts)
    con.execute(
        f"CREATE VIEW raw_ratings AS SELECT * FROM read_csv([{files}], header = true, "
        "columns = {'user_id': 'BIGINT', 'movielens_id': 'BIGINT', 'rating': 'DOUBLE', 'rated_epoch': 'BIGINT'})"
    )

    def rewrite(sql: str) -> str:
        # DuckDB spells epoch-microseconds-to-timestamp make_timestamp.
        return re.sub(r"to_timestamp_micros\(", "make_timestamp(", sql)

    made: set[str] = set()
    for name, zone in steps:
        sql = render(name, zone, rewrite, lake)
        for side in side_views_for(sql, made):
            con.execute(f"CREATE VIEW {side} AS {render_side(side, rewrite, lake)}")
            made.add(side)
        target = out / f"{name}.parquet"
        con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{target}')")


def run_spark(lake: Path, out: Path, threads: int, steps: list[tuple[str, str]]) -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    spark = (
        SparkSession.builder.master(f"local[{threads}]")
        .appName("movielens-bench")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.shuffle.partitions", str(threads * 2))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    tables, parts = staged(lake)
    for name, path in tables.items():
        spark.read.parquet(path).createOrReplaceTempView(name)
    schema = StructType(
        [
            StructField("user_id", LongType()),
            StructField("movielens_id", LongType()),
            StructField("rating", DoubleType()),
            StructField("rated_epoch", LongType()),
        ]
    )
    spark.read.csv(parts, header=True, schema=schema).createOrReplaceTempView("raw_ratings")

    def rewrite(sql: str) -> str:
        sql = re.sub(r"to_timestamp_micros\(", "timestamp_micros(", sql)
        # Spark 3.5 has no << operator (4.0 does): shiftleft(x, n).
        sql = re.sub(r"CAST\(1 AS BIGINT\) << \((.*?)\) AS bit", r"shiftleft(CAST(1 AS BIGINT), \1) AS bit", sql)
        return sql

    made: set[str] = set()
    for name, zone in steps:
        sql = render(name, zone, rewrite, lake)
        for side in side_views_for(sql, made):
            spark.sql(render_side(side, rewrite, lake)).createOrReplaceTempView(side)
            made.add(side)
        target = str(out / name)
        spark.sql(sql).write.mode("overwrite").parquet(target)
        spark.read.parquet(target).createOrReplaceTempView(name)
    spark.stop()


def run_datafusion(lake: Path, out: Path, threads: int, steps: list[tuple[str, str]]) -> None:
    import datafusion
    import pyarrow as pa

    config = datafusion.SessionConfig().with_target_partitions(threads)
    ctx = datafusion.SessionContext(config)
    tables, parts = staged(lake)
    for name, path in tables.items():
        ctx.register_parquet(name, path + "/")
    schema = pa.schema(
        [
            ("user_id", pa.int64()),
            ("movielens_id", pa.int64()),
            ("rating", pa.float64()),
            ("rated_epoch", pa.int64()),
        ]
    )
    ctx.register_csv("raw_ratings", parts, schema=schema, has_header=True)
    made: set[str] = set()
    for name, zone in steps:
        sql = render(name, zone, lambda s: s, lake)
        for side in side_views_for(sql, made):
            ctx.sql(f"CREATE VIEW {side} AS {render_side(side, lambda s: s, lake)}").collect()
            made.add(side)
        target = str(out / name)
        ctx.sql(sql).write_parquet(target)
        ctx.register_parquet(name, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["duckdb", "spark", "datafusion"], required=True)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", type=Path, required=True, help="`movielens models --json` output")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TZ", "UTC")
    {"duckdb": run_duckdb, "spark": run_spark, "datafusion": run_datafusion}[args.engine](
        args.lake, args.out, args.threads, bench_steps(args.models)
    )


if __name__ == "__main__":
    main()
