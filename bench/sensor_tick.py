"""Benchmark one tick of each monitoring sensor against the size of the log.

    python bench/sensor_tick.py --customers 2000,20000,200000 --ticks 20

For each size this writes the sample log (CSV, and Parquet for the new-data
sensor's footer path) with the project's generator, loads it into a fresh
warehouse with the real ingest, adds the small monitoring rows the sensors
read (a drifted ``feature_drift_summary`` row, a decayed ``model_performance``
history, a champion alias), and times ``evaluate_tick`` of each sensor on a
real instance, with no cursor so every tick fires (the costlier path: it also
works out the run's cutoff range). For contrast it times what a sensor that
looked at the log itself would pay at least: one pass over the transactions
table (last purchase and spend per customer) and counting the CSV's rows.

Prints a markdown table; the log, warehouse and instance live in a temporary
folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from ml_assets.ingest.assets import load_transactions
from ml_assets.ingest.sample_data import write_sample
from ml_assets.lib.warehouse import read_sql
from ml_assets.monitoring import assets as monitoring_assets
from ml_assets.monitoring.sensors import (
    drift_retrain_sensor,
    new_data_sensor,
    performance_sensor,
)
from ml_assets.settings import Settings

SENSORS = {"drift": drift_retrain_sensor, "new_data": new_data_sensor,
           "performance": performance_sensor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="2000,20000,200000")
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for n in (int(v) for v in args.customers.split(",")):
        with tempfile.TemporaryDirectory(prefix="sensor_tick_") as folder:
            rows.append(bench_size(Path(folder), n, args.ticks))
    print(markdown(rows))


def bench_size(folder: Path, customers: int, ticks: int) -> dict:
    csv, parquet = folder / "tx.csv", folder / "tx.parquet"
    written = write_sample(csv, n_customers=customers)
    write_sample(parquet, n_customers=customers)
    settings = Settings(transactions=str(csv), warehouse=str(folder / "wh.duckdb"),
                        model_dir=str(folder / "models"))
    with duckdb.connect(settings.warehouse) as conn:
        load_transactions(conn, csv, settings)
        _monitoring_rows(conn)
        scan = _seconds(conn, "SELECT customer_id, max(order_ts), sum(amount) FROM transactions "
                              "GROUP BY customer_id")
        count_csv = _seconds(conn, "SELECT count(*) FROM read_csv(?, all_varchar = true)",
                             [str(csv)])
    result = {"customers": customers, "rows": written["rows"],
              "csv_mb": csv.stat().st_size / 1e6, "scan_ms": scan * 1000,
              "count_csv_ms": count_csv * 1000}
    with dg.instance_for_test() as instance:
        for name, sensor in SENSORS.items():
            result[f"{name}_ms"] = _median_tick(sensor, instance, settings, ticks)
        parquet_settings = settings.model_copy(update={"transactions": str(parquet)})
        result["new_data_parquet_ms"] = _median_tick(new_data_sensor, instance, parquet_settings,
                                                     ticks)
    return result


def _seconds(conn, sql: str, params=None) -> float:
    """Best of three runs (the first pays for cold caches)."""
    times = []
    for _ in range(3):
        began = time.perf_counter()
        conn.execute(sql, params or []).fetchall()
        times.append(time.perf_counter() - began)
    return min(times)


def _median_tick(sensor, instance, settings: Settings, ticks: int) -> float:
    times = []
    for _ in range(ticks):
        context = dg.build_sensor_context(instance=instance, resources={"settings": settings})
        began = time.perf_counter()
        data = sensor.evaluate_tick(context)
        times.append(time.perf_counter() - began)
    if not data.run_requests:
        raise RuntimeError(f"{sensor.name} did not fire: {data.skip_message}")
    return statistics.median(times) * 1000


def _monitoring_rows(conn: duckdb.DuckDBPyConnection) -> None:
    """The rows the sensors read, shaped like the assets write them, all firing."""
    conn.execute(read_sql(monitoring_assets.__file__, "create_tables.sql"))
    conn.execute("""INSERT INTO feature_drift_summary BY NAME SELECT 'bench' AS run_id,
        now() AS computed_at, DATE '2025-01-01' AS cutoff_date, 1 AS churn_model_version,
        1 AS ltv_model_version, true AS dataset_drift, 'bench drift' AS reasons""")
    perf = pd.DataFrame({
        "cutoff_date": pd.date_range("2023-01-01", periods=24, freq="MS").date,
        "status": "complete", "churn_model_version": 1, "ltv_model_version": 1,
        "churn_labels": 1000, "ltv_labels": 1000, "churn_decayed": True, "ltv_decayed": False,
        "decay_reasons": "bench decay",
    })
    conn.register("_perf", perf)
    conn.execute("CREATE TABLE model_performance AS SELECT * FROM _perf")
    conn.execute("CREATE TABLE model_aliases AS SELECT 'churn_model' AS model_name, "
                 "'champion' AS alias, 1 AS version")
    # the file has grown since the (pretend) last load, so the new-data sensor fires too
    conn.execute("UPDATE ingest_log SET source_bytes = source_bytes // 2, rows_in = rows_in // 2")


def markdown(rows: list[dict]) -> str:
    header = ("| customers | rows | CSV MB | drift tick ms | new-data tick ms (CSV) | "
              "new-data tick ms (Parquet) | performance tick ms | one pass over transactions ms "
              "| count the CSV's rows ms |")
    lines = [header, "|" + "---:|" * 9]
    for r in rows:
        lines.append(
            f"| {r['customers']:,} | {r['rows']:,} | {r['csv_mb']:.1f} | {r['drift_ms']:.1f} | "
            f"{r['new_data_ms']:.1f} | {r['new_data_parquet_ms']:.1f} | "
            f"{r['performance_ms']:.1f} | {r['scan_ms']:.1f} | {r['count_csv_ms']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
