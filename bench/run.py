"""Benchmark the whole chain at several scales of transactions.

    python bench/run.py --scales 100k,default,1m,3m --lgbm-threads 1

(about 25 minutes on 2 cores; 3m alone takes 13 to 19). For each scale this

1. generates a log of about that many transactions with the project's own
   generator (``default`` is exactly the bundled sample, 20k customers) into
   ``bench/data/``;
2. runs every asset for every cutoff with the Dagster CLI, as a user would, in
   a fresh instance and warehouse under ``bench/results/raw/<scale>/``, while
   sampling the resident memory of the run's whole process tree;
3. reads each step's wall time from the run's event log, the peak memory
   while it ran, and counts the rows of the warehouse tables;
4. times, on the same warehouse, the point-in-time features for the 12 newest
   cutoffs in one pass (the snapshot asset's SQL) against the plain reference
   query (``snapshots/sql/reference_features.sql``) run once per cutoff.

Dagster's own cost is timed separately: a CLI run of one asset that does
nothing (``bench/trivial_defs.py``) and the import of ``ml_assets``. The
promotion policy is made permissive (environment variables) so that every
scale promotes and runs customer_scores.

Each scale's numbers go to ``bench/results/raw/<scale>.json``, and
``bench/results/results.md`` is rendered from every JSON file there, so
scales may be run in separate invocations. Generated logs and warehouses are
deleted after each scale unless ``--keep-data``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
RAW = RESULTS / "raw"
BIN = Path(sys.executable).parent

TX_PER_CUSTOMER = 10.25  # the bundled sample: 204,956 rows for 20,000 customers
DEFAULT_CUSTOMERS = 20_000
SIDE_BY_SIDE_CUTOFFS = 12

# The promotion policy made permissive, so that every scale promotes its first
# candidates and runs customer_scores: the same work, only the decision differs
# (at small scales the real policy rightly refuses to promote).
PERMISSIVE_POLICY = {
    "PROMOTION_ALPHA": "1", "PROMOTION_MIN_HOLDOUT": "0",
    "CHURN_MIN_AUC_GAIN": "-1", "CHURN_MAX_BRIER_REGRESSION": "1", "CHURN_MAX_ECE_REGRESSION": "1",
    "CHURN_MAX_ECE": "1", "LTV_MIN_GINI_GAIN": "-1", "LTV_MAX_RMSE_REGRESSION": "1000",
    "LTV_MAX_TOTAL_ERROR_REGRESSION": "1000", "LTV_MAX_COVERAGE_DROP": "1",
    "LTV_MAX_TOTAL_ERROR": "1000", "LTV_MIN_COVERAGE": "0",
}



def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--scales", default="100k,default,1m",
                        help="comma-separated transaction counts (100k, 1m, 2.5m, 10m) or 'default'")
    parser.add_argument("--partition-range", default="2022-01-01...2025-01-01",
                        help="cutoffs to materialize, as for dagster asset materialize")
    parser.add_argument("--repeats", type=int, default=3,
                        help="side-by-side timings: best of this many (1 above 20M rows)")
    parser.add_argument("--lgbm-threads", type=int, default=None,
                        help="run config num_threads for churn_model and ltv_model (default: the "
                        "project's own default); 1 keeps timings stable on a shared machine")
    parser.add_argument("--no-side-by-side", action="store_true",
                        help="skip the one pass vs reference timing (it runs the reference 12 "
                        "times: long at 50m)")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite results.md from the JSON files already measured")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the generated logs and warehouses")
    args = parser.parse_args(argv)
    if args.render:
        write_markdown()
        return
    if not (BIN / "dagster").exists():
        raise SystemExit(f"no dagster beside {sys.executable}: run this with the project's "
                         "environment active (. .venv/bin/activate).")

    RAW.mkdir(parents=True, exist_ok=True)
    overhead = dagster_overhead()
    for scale in args.scales.split(","):
        result = bench_scale(scale.strip(), args)
        result["overhead"] = overhead
        (RAW / f"{result['scale']}.json").write_text(json.dumps(result, indent=2))
        print(json.dumps({k: result[k] for k in ("scale", "transactions", "cli_wall_s",
                                                  "peak_rss_mb", "side_by_side")}), flush=True)
    write_markdown()


# --- one scale -------------------------------------------------------------------


def bench_scale(scale: str, args) -> dict:
    customers = customers_for(scale)
    log = DATA / f"transactions_{scale}.csv"  # CSV, like the bundled sample
    run_dir = RAW / scale
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    generated = generate(log, customers)
    env = chain_env(run_dir, log)
    first, last = args.partition_range.split("...")
    env.update(ML_ASSETS_PARTITIONS_START=first, ML_ASSETS_PARTITIONS_END=last)
    # the README's main command: retrain_job over the settings' range, then scoring_job
    retrain = [str(BIN / "dg"), "launch", "--job", "retrain_job"]
    if args.lgbm_threads is not None:
        config = {"config": {"num_threads": args.lgbm_threads}}
        retrain += ["--config-json", json.dumps({"ops": {"churn_model": config, "ltv_model": config}})]
    cmd = ["bash", "-c", f"{shlex.join(retrain)} && {shlex.join([str(BIN / 'dg'), 'launch', '--job', 'scoring_job'])}"]
    print(f"[{scale}] running the chain on {generated['rows']:,} rows", flush=True)
    run = measure(cmd, env, run_dir, run_dir / "run.log")
    steps, run_s = step_times(run_dir, run["samples"])
    warehouse = run_dir / "warehouse.duckdb"
    rows = table_rows(warehouse)
    repeats = args.repeats if generated["rows"] <= 20_000_000 else 1
    if args.no_side_by_side:
        sbs = {"skipped": "--no-side-by-side"}
    else:
        print(f"[{scale}] side by side (best of {repeats})", flush=True)
        cutoffs = cutoffs_of(args.partition_range)
        sbs = side_by_side(warehouse, cutoffs[-SIDE_BY_SIDE_CUTOFFS:], repeats)
        # and every cutoff the chain built, as the snapshot asset's backfill runs it
        sbs["all_cutoffs"] = side_by_side(warehouse, cutoffs, repeats)
    if not args.keep_data:
        log.unlink(missing_ok=True)
        for path in run_dir.glob("warehouse.duckdb*"):
            path.unlink()
        shutil.rmtree(run_dir / "models", ignore_errors=True)
    return {
        "scale": scale,
        "lgbm_threads": args.lgbm_threads,
        "transactions": generated["rows"],
        "customers": customers,
        "log_bytes": generated["bytes"],
        "generate_s": generated["seconds"],
        "cli_wall_s": round(run["wall_s"], 2),
        "cli_cpu_s": round(run["cpu_s"], 2),
        "run_s": round(run_s, 2),
        "peak_rss_mb": round(run["peak_rss_mb"]),
        "peak_disk_mb": round(run["peak_disk_mb"]),
        "steps": steps,
        "rows": rows,
        "side_by_side": sbs,
        "machine": machine(),
        "code": code_version(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def customers_for(scale: str) -> int:
    if scale == "default":
        return DEFAULT_CUSTOMERS
    units = {"k": 1_000, "m": 1_000_000}
    try:
        rows = float(scale[:-1]) * units[scale[-1].lower()] if scale[-1].lower() in units else float(scale)
    except (ValueError, KeyError, IndexError):
        raise SystemExit(f"scale {scale!r} is not a row count like 100k, 1m or 'default'") from None
    return max(1, round(rows / TX_PER_CUSTOMER))


def generate(path: Path, customers: int) -> dict:
    """The project's sample generator, in a child process so its memory is its own."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(path.parent).free
        need = customers * TX_PER_CUSTOMER * 60 * 4  # log + DuckDB staging + warehouse, generously
        if free < need:
            raise SystemExit(f"{path.parent} has {free / 2**30:.1f} GiB free; this scale needs about "
                             f"{need / 2**30:.1f} GiB. Free some space or choose a smaller scale.")
        print(f"generating {customers:,} customers -> {path}", flush=True)
        cmd = [sys.executable, "-m", "ml_assets.ingest.sample_data", "--customers", str(customers),
               "--out", str(path)]
        summary = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                            cwd=ROOT).stdout.strip().splitlines()[-1])
        (path.parent / (path.name + ".json")).write_text(json.dumps(summary))
    summary = json.loads((path.parent / (path.name + ".json")).read_text())
    summary["bytes"] = path.stat().st_size
    return summary


def chain_env(run_dir: Path, log: Path) -> dict:
    """A fresh Dagster instance (the project's dagster.yaml, storage under run_dir)."""
    config = (ROOT / "dagster.yaml").read_text().replace("base_dir: .dagster", f"base_dir: {run_dir}/.dagster")
    (run_dir / "dagster.yaml").write_text(config)
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(run_dir),
        ML_ASSETS_WAREHOUSE=str(run_dir / "warehouse.duckdb"),
        ML_ASSETS_MODEL_DIR=str(run_dir / "models"),
        ML_ASSETS_TRANSACTIONS=str(log),
        PYTHONWARNINGS="ignore",
    )
    env.update({"ML_ASSETS_" + name: value for name, value in PERMISSIVE_POLICY.items()})
    return env


def cutoffs_of(partition_range: str) -> list[date]:
    first, last = (date.fromisoformat(part) for part in partition_range.split("..."))
    months = (last.year - first.year) * 12 + last.month - first.month
    return [date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
            for i in range(months + 1)]


# --- measuring -------------------------------------------------------------------


def measure(cmd: list[str], env: dict, cwd: Path, log_path: Path) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds, the peak summed RSS of its process
    tree and the (unix time, RSS) samples behind it (every 0.1 s from /proc, so a
    spike shorter than that can be missed), and the peak disk used under ``cwd``
    (warehouse, DuckDB's spill files beside it, models, Dagster's storage;
    sampled every second)."""
    began = time.perf_counter()
    cpu_before = _children_cpu()
    disk, disk_at = disk_used(cwd), time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        samples = []
        while proc.poll() is None:
            samples.append((time.time(), tree_rss(proc.pid)))
            if time.time() - disk_at >= 1:
                disk, disk_at = max(disk, disk_used(cwd)), time.time()
            time.sleep(0.1)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}; see {log_path}")
    peak = max((rss for _, rss in samples), default=0)
    return {"wall_s": wall, "cpu_s": _children_cpu() - cpu_before, "peak_rss_mb": peak / 2**20,
            "peak_disk_mb": max(disk, disk_used(cwd)) / 2**20, "samples": samples}


def disk_used(root: Path) -> int:
    """Bytes of the files under ``root`` (allocated blocks, so sparse files count
    what they hold)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                pass  # removed while walking (a spill file)
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(pid, []))
    return total


def step_times(run_dir: Path, samples: list[tuple[float, int]]) -> tuple[list[dict], float]:
    """Each step's wall seconds and peak RSS of the process tree while it ran (in
    start order, marked asset or check), and the runs' own summed duration, from
    the instance's event log (the main command is two runs)."""
    import dagster as dg

    steps, total = [], 0.0
    with dg.DagsterInstance.from_config(str(run_dir)) as instance:
        for record in reversed(instance.get_run_records(limit=10)):
            run_id = record.dagster_run.run_id
            checks = {e.step_key for e in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)}
            assets = {e.step_key for e in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
            stats = sorted(instance.get_run_step_stats(run_id), key=lambda s: s.start_time)
            steps += [{"step": s.step_key, "seconds": round(s.end_time - s.start_time, 2),
                       "peak_rss_mb": round(max((rss for t, rss in samples
                                                 if s.start_time <= t <= s.end_time),
                                                default=0) / 2**20),
                       "kind": "check" if s.step_key in checks and s.step_key not in assets
                       else "asset"}
                      for s in stats]
            total += record.end_time - record.start_time
    return steps, total


def table_rows(warehouse: Path) -> dict:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        names = [r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        rows = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
        rows["customers"] = conn.execute("SELECT count(DISTINCT customer_id) FROM transactions").fetchone()[0]
    return rows


def side_by_side(warehouse: Path, cutoffs: list[date], repeats: int) -> dict:
    """Point-in-time features for ``cutoffs``: the snapshot asset's one pass as
    the asset runs it (running state at the look-up days of ``cutoffs`` and the
    label horizons, then the feature pass for all the cutoffs,
    a chunk of customers at a time with the default chunk size) against the
    project's plain reference query (``snapshots/sql/reference_features.sql``)
    run once per cutoff for every customer, each the best of ``repeats`` (the
    repeats alternate the sides), on a connection configured as the chain's."""
    import duckdb

    from ml_assets.lib.warehouse import read_sql
    from ml_assets.snapshots import assets as snapshots
    from ml_assets.settings import Settings
    from ml_assets.snapshots.assets import (customer_chunks, label_horizons, prepare_state,
                                            stage_features)

    reference_sql = read_sql(snapshots.__file__, "reference_features.sql")

    def timed(work) -> tuple[float, float]:
        """(wall, CPU) seconds of one run of ``work``; CPU counts DuckDB's threads."""
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        return time.perf_counter() - wall, time.process_time() - cpu

    def reference():
        for cutoff in cutoffs:
            conn.execute(f"CREATE OR REPLACE TEMP TABLE bench_reference AS {reference_sql}",
                         {"cutoff": cutoff, "customers": None})

    rows = []

    def one_pass():
        rows.clear()
        for chunk in customer_chunks(conn, cutoffs, Settings().snapshot_batch_rows):
            stage_features(conn, cutoffs, keys=chunk)
            rows.append(conn.execute("SELECT count(*) FROM staged_features").fetchone()[0])

    # the repeats alternate the two sides, so that a slow spell of the machine
    # does not land on one side only
    runs = []
    with duckdb.connect(str(warehouse), config={"memory_limit": "30%"}) as conn:
        horizons = label_horizons(Settings())
        for _ in range(repeats):
            state = timed(lambda: prepare_state(conn, cutoffs, horizons))
            features = timed(one_pass)
            runs.append({"state": state, "features": features, "reference": timed(reference)})
        feature_rows = sum(rows)
    best = {side: min(run[side] for run in runs) for side in ("state", "features", "reference")}
    ref = best["reference"]
    pit = (best["state"][0] + best["features"][0], best["state"][1] + best["features"][1])
    # each repeat's own ratio, to show the spread behind the best-of figure
    each = sorted(run["reference"][0] / (run["state"][0] + run["features"][0]) for run in runs)
    return {"cutoffs": len(cutoffs), "reference_s": round(ref[0], 3),
            "state_s": round(best["state"][0], 3), "features_s": round(best["features"][0], 3),
            "pit_s": round(pit[0], 3), "speedup": round(ref[0] / pit[0], 2),
            "reference_cpu_s": round(ref[1], 3), "pit_cpu_s": round(pit[1], 3),
            "cpu_speedup": round(ref[1] / max(pit[1], 1e-3), 2),
            "speedup_each_repeat": [round(x, 2) for x in each],
            "feature_rows": feature_rows, "repeats": repeats}


def dagster_overhead() -> dict:
    """Dagster's fixed cost per CLI run, and the time to import the project."""
    run_dir = RAW / "trivial"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    env = chain_env(run_dir, run_dir / "unused.csv")
    cmd = [str(BIN / "dagster"), "asset", "materialize", "-f", str(BENCH / "trivial_defs.py"),
           "--select", "noop"]
    trivial = [measure(cmd, env, run_dir, run_dir / "run.log")["wall_s"] for _ in range(3)]
    imports = [measure([sys.executable, "-c", "import ml_assets"], env, run_dir,
                       run_dir / "import.log")["wall_s"] for _ in range(3)]
    return {"trivial_run_s": round(min(trivial), 2), "import_ml_assets_s": round(min(imports), 2)}


def code_version() -> str:
    """Where ml_assets was imported from, its git commit, and whether the tree had edits."""
    import ml_assets

    where = Path(ml_assets.__file__).resolve().parent.parent
    git = ["git", "-C", str(where)]
    try:
        commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(git + ["status", "--porcelain", "--", "ml_assets"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{where} (not a git checkout)"
    return f"{where} at {commit}" + (" with uncommitted changes" if dirty else "")


def machine() -> dict:
    import dagster
    import duckdb
    import lightgbm
    import pandas

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {
        "nproc": os.cpu_count(), "ram_gib": round(mem_kb / 2**20, 1), "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "dagster": dagster.__version__, "duckdb": duckdb.__version__,
        "lightgbm": lightgbm.__version__, "pandas": pandas.__version__,
    }


# --- the report ------------------------------------------------------------------


def write_markdown() -> Path:
    results = sorted((json.loads(p.read_text()) for p in RAW.glob("*.json")),
                     key=lambda r: r["transactions"])
    if not results:
        raise SystemExit(f"no results in {RAW}")
    out = RESULTS / "results.md"
    out.write_text(render(results))
    print(f"wrote {out}")
    return out


def render(results: list[dict]) -> str:
    m = results[-1]["machine"]
    threads = {r.get("lgbm_threads") for r in results}
    flags = f" --lgbm-threads {next(iter(threads))}" if len(threads) == 1 and None not in threads else ""
    # the least contended of the measurements (each itself a best of 3)
    o = {key: min(r["overhead"][key] for r in results) for key in results[-1]["overhead"]}
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['os']}; "
        f"Python {m['python']}, dagster {m['dagster']}, duckdb {m['duckdb']}, "
        f"lightgbm {m['lightgbm']}, pandas {m['pandas']}.",
        "",
        f"Command: `python bench/run.py --scales {','.join(r['scale'] for r in results)}{flags}`; "
        "each scale runs the README's main command (`dg launch --job retrain_job && dg launch "
        "--job scoring_job`, cutoffs 2022-01-01...2025-01-01 from the settings) on a fresh instance and "
        "warehouse, with the promotion policy made permissive so that every scale also runs "
        "customer_scores (same work, only the decision differs). Peak RSS is the summed resident memory of the CLI process tree, sampled "
        "every 0.1 s; CPU s is the run's user + system CPU time (less sensitive than wall time to "
        "other load on the machine).",
        "",
        "LightGBM threads (run config num_threads; none = project default): "
        + ", ".join(f"{r['scale']}: {r.get('lgbm_threads')}" for r in results) + ".",
        "",
        "Code: " + "; ".join(sorted({f"{r['scale']}: {r.get('code', '?')}" for r in results})) + ".",
        "",
        "## End to end",
        "",
        "| scale | transactions | customers | feature rows | log MB | CLI wall s | s per 1M tx "
        "| CPU s | peak RSS GB | peak disk GB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['scale']} | {r['transactions']:,} | {r['rows']['customers']:,} "
            f"| {r['rows'].get('customer_features', 0):,} | {r['log_bytes'] / 1e6:,.0f} "
            f"| {r['cli_wall_s']:.1f} | {r['cli_wall_s'] / r['transactions'] * 1e6:.1f} "
            f"| {r.get('cli_cpu_s', float('nan')):.1f} | {r['peak_rss_mb'] / 1024:.2f} "
            f"| {r.get('peak_disk_mb', float('nan')) / 1024:.2f} |"
        )
    lines += [
        "",
        f"## Point-in-time features for the {SIDE_BY_SIDE_CUTOFFS} newest cutoffs and for all: "
        "one pass vs the reference query per cutoff",
        "",
        "One pass: the snapshot asset's own SQL as the asset runs it (running per-customer "
        "state at the run's look-up days, label horizons included, "
        f"then the feature pass for the {SIDE_BY_SIDE_CUTOFFS} newest cutoffs into a temp "
        "table, a chunk of customers at a time, default chunk size). Reference: the "
        "project's plain query (`snapshots/sql/reference_features.sql`, straight from the "
        "transactions before the cutoff) run once per cutoff for every customer, into a temp "
        "table. Wall seconds, best of the repeats (the repeats alternate the two sides); "
        "the target is a speed-up of at least 2x. *Each repeat* lists every repeat's own "
        "ratio, lowest first, to show the machine's spread behind the best-of figure. "
        "The second row of a scale times every cutoff the chain built, as the snapshot "
        "asset's backfill computes them.",
        "",
        "| scale | transactions | cutoffs | feature rows | reference s | state s | features s "
        "| one pass s | speed-up | CPU speed-up | each repeat |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        for s in (r["side_by_side"], r["side_by_side"].get("all_cutoffs")):
            if not s or "reference_s" not in s:
                continue  # skipped, or measured against the old aggregate scan
            lines.append(
                f"| {r['scale']} | {r['transactions']:,} | {s['cutoffs']} | {s['feature_rows']:,} "
                f"| {s['reference_s']:.2f} | {s['state_s']:.2f} | {s['features_s']:.2f} "
                f"| {s['pit_s']:.2f} | {s['speedup']:.2f}x | {s['cpu_speedup']:.2f}x "
                f"| {', '.join(f'{x:.2f}x' for x in s.get('speedup_each_repeat', [])) or 'n/a'} |"
            )
    lines += ["", "## Targets", ""]
    lines += targets(results)
    lines += ["", "## Wall seconds per step", ""]
    lines += step_table(results)
    if any("peak_rss_mb" in st for r in results for st in r["steps"]):
        lines += ["", "## Peak RSS GB while each step ran (whole process tree)", ""]
        lines += memory_table(results)
    lines += [
        "",
        "## Dagster's own cost",
        "",
        f"- A CLI run of one asset that does nothing (`bench/trivial_defs.py`): "
        f"{o['trivial_run_s']:.1f} s (best of 3, best over the invocations).",
        f"- `import ml_assets` (the project's definitions and their libraries): "
        f"{o['import_ml_assets_s']:.1f} s (best of 3, best over the invocations).",
        "- In the table above, *CLI start-up and teardown* is the CLI's wall time outside the run, "
        "and *orchestration between steps* is the run's duration minus its steps.",
        "",
    ]
    return "\n".join(lines)


def targets(results: list[dict]) -> list[str]:
    """Each scale target of the bench, met or not, with the measured number."""
    by = {r["scale"]: r for r in results}
    lines = ["| target | measured | met |", "|---|---|---|"]

    def add(label, value, met):
        lines.append(f"| {label} | {value} | {'yes' if met else '**no**'} |")

    for scale, wall, rss in (("10m", 600, 10), ("50m", 2700, 20)):
        if scale in by:
            r = by[scale]
            add(f"{scale}: whole chain under {wall / 60:.0f} min", f"{r['cli_wall_s'] / 60:.1f} min",
                r["cli_wall_s"] < wall)
            add(f"{scale}: peak RSS under {rss} GB", f"{r['peak_rss_mb'] / 1024:.2f} GB",
                r["peak_rss_mb"] / 1024 < rss)
    if "50m" in by and "peak_disk_mb" in by["50m"]:
        disk = by["50m"]["peak_disk_mb"] / 1024
        add("50m: at most 60 GB of disk", f"{disk:.1f} GB", disk <= 60)
    if "1m" in by and "10m" in by:
        small, large = ({s["step"]: s["seconds"] for s in by[k]["steps"] if s["kind"] == "asset"}
                        for k in ("1m", "10m"))
        growth = {k: large[k] / max(small[k], 0.1) for k in large if k in small}
        worst = max(growth, key=growth.get)
        add("1m to 10m: every step grows at most 12x", f"largest {growth[worst]:.1f}x ({worst})",
            growth[worst] <= 12)
    for r in results:
        step = next((s for s in r["steps"] if s["step"] == "customer_scores"), None)
        scored = r["rows"].get("customer_scores")
        if step and scored and r["transactions"] >= 5_000_000:
            rate = scored / step["seconds"]
            add(f"{r['scale']}: customer_scores at least 20,000 customers/s",
                f"{rate:,.0f}/s ({scored:,} in {step['seconds']:.0f} s)", rate >= 20_000)
        sbs = r["side_by_side"]
        if "speedup" in sbs and r["transactions"] >= 5_000_000:
            add(f"{r['scale']}: one-pass features at least 2x the reference per cutoff",
                f"{sbs['speedup']:.2f}x at {sbs['cutoffs']} cutoffs", sbs["speedup"] >= 2)
            every = sbs.get("all_cutoffs")
            if every:
                add(f"{r['scale']}: the same at every cutoff the chain built",
                    f"{every['speedup']:.2f}x at {every['cutoffs']} cutoffs", every["speedup"] >= 2)
    return lines


def step_table(results: list[dict]) -> list[str]:
    names = []
    for r in results:
        for s in r["steps"]:
            if s["kind"] == "asset" and s["step"] not in names:
                names.append(s["step"])
    header = "| step | " + " | ".join(r["scale"] for r in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]

    def row(label, values):
        lines.append(f"| {label} | " + " | ".join(f"{v:.1f}" for v in values) + " |")

    for name in names:
        row(name, [next((s["seconds"] for s in r["steps"] if s["step"] == name), 0.0) for r in results])
    row("asset checks (all)", [sum(s["seconds"] for s in r["steps"] if s["kind"] == "check")
                               for r in results])
    row("orchestration between steps", [r["run_s"] - sum(s["seconds"] for s in r["steps"])
                                        for r in results])
    row("CLI start-up and teardown", [r["cli_wall_s"] - r["run_s"] for r in results])
    row("**CLI wall total**", [r["cli_wall_s"] for r in results])
    return lines


def memory_table(results: list[dict]) -> list[str]:
    names = [s["step"] for s in results[-1]["steps"] if s["kind"] == "asset"]
    lines = ["| step | " + " | ".join(r["scale"] for r in results) + " |",
             "|---|" + "---:|" * len(results)]
    for name in names:
        values = [next((s.get("peak_rss_mb") for s in r["steps"] if s["step"] == name), None)
                  for r in results]
        lines.append(f"| {name} | " + " | ".join("n/a" if v is None else f"{v / 1024:.2f}"
                                                   for v in values) + " |")
    return lines


if __name__ == "__main__":
    main()
