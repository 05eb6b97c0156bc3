"""Bad input end to end, and the security rules that are not covered elsewhere:
blanks and nulls in every column, mixed time zones around a cutoff, customers
with only refunds, a failed blocking check that must stop the chain before any
promotion, registry rows pointing outside the model directory, and artifacts
that are never pickles. (Malformed lines, wrong types, duplicates, future and
absurd amounts, missing columns, empty and non-UTF-8 files are in test_ingest;
tampered artifacts and killed registrations in test_registry and test_crash.)

Every load asserts rows in = kept + rejected against the file itself."""

from __future__ import annotations

import ast
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from ml_assets import registry
from ml_assets.ingest.assets import load_transactions
from ml_assets.models.artifacts import read_model, write_model
from ml_assets.registry import __main__ as registry_cli
from ml_assets_tests.conftest import executable, resources_for, settings_in
from ml_assets_tests.factories import snapshot_tables

NOW = datetime(2024, 6, 1)
HEADER = "customer_id,order_ts,amount,order_id,quantity"
PACKAGE = Path(registry.__file__).resolve().parents[1]


def _load(folder: Path, path: Path, **overrides):
    conn = duckdb.connect()
    summary = load_transactions(conn, path, settings_in(folder, transactions=str(path), **overrides), now=NOW)
    return conn, summary


def _assert_accounted(conn, summary, data_rows: int) -> None:
    """Every data row of the file is kept or rejected, once; nothing else is."""
    kept = conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
    rejected = conn.execute("SELECT count(*) FROM rejected_transactions").fetchone()[0]
    assert summary["rows_in"] == data_rows
    assert (summary["rows_kept"], summary["rows_rejected"]) == (kept, rejected)
    assert kept + rejected + summary["lines_merged"] == data_rows


# --- blanks and nulls in every column ------------------------------------------------


def test_a_blank_in_each_column_is_rejected_when_required_and_kept_as_null_when_optional(tmp_path):
    path = tmp_path / "blanks.csv"
    path.write_text(
        f"{HEADER}\n"
        "C1,2024-01-01 10:00:00,10,O1,1\n"  # 1 complete
        ",2024-01-02,5,O2,1\n"  # 2 no customer
        "C2,,5,O3,1\n"  # 3 no timestamp
        "C3,2024-01-03,,O4,1\n"  # 4 no amount
        "C4,2024-01-04,6,,1\n"  # 5 no order id: optional
        "C5,2024-01-05,7,O6,\n"  # 6 no quantity: optional
        ",,,,\n"  # 7 nothing at all
        "\n"  # a blank line is not a row
        "C6,2024-01-06,8,O7,1\n"  # 8
    )
    conn, summary = _load(tmp_path, path)
    _assert_accounted(conn, summary, data_rows=8)
    assert conn.execute(
        "SELECT source_row, reason FROM rejected_transactions ORDER BY source_row"
    ).fetchall() == [(2, "missing_customer_id"), (3, "bad_timestamp"), (4, "bad_amount"),
                     (7, "missing_customer_id")]
    assert conn.execute(
        "SELECT customer_id, order_id, quantity FROM transactions ORDER BY customer_id"
    ).fetchall() == [("C1", "O1", 1.0), ("C4", None, 1.0), ("C5", "O6", None), ("C6", "O7", 1.0)]


def test_typed_nulls_in_every_parquet_column(tmp_path):
    frame = pd.DataFrame({
        "customer_id": ["C1", None, "C3", "C4", "C5", "C6"],
        "order_ts": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04",
                                    "2024-01-05", "2024-01-06"]),
        "amount": [1.5, 2.0, 3.0, np.nan, 5.0, 6.0],
        "order_id": ["O1", "O2", "O3", "O4", None, "O6"],
        "quantity": [1.0, 1.0, 1.0, 1.0, 1.0, None],
    })
    path = tmp_path / "nulls.parquet"
    with duckdb.connect() as writer:  # typed columns with real NULLs, no pyarrow needed
        writer.register("frame", frame)
        writer.execute(f"COPY frame TO '{path}' (FORMAT parquet)")
    conn, summary = _load(tmp_path, path)
    _assert_accounted(conn, summary, data_rows=6)
    assert dict(conn.execute("SELECT source_row, reason FROM rejected_transactions").fetchall()) == {
        2: "missing_customer_id", 3: "bad_timestamp", 4: "bad_amount"}
    assert conn.execute(
        "SELECT customer_id, order_ts, amount, order_id, quantity FROM transactions ORDER BY 1"
    ).fetchall() == [
        ("C1", datetime(2024, 1, 1), 1.5, "O1", 1.0),
        ("C5", datetime(2024, 1, 5), 5.0, None, 1.0),
        ("C6", datetime(2024, 1, 6), 6.0, "O6", None),
    ]


# --- time zones and refunds through to the snapshots ----------------------------------


def test_mixed_time_zones_put_each_event_on_the_right_side_of_a_cutoff(tmp_path):
    # cutoff 2024-03-01 00:00 UTC; every row but the last is a purchase near it
    path = tmp_path / "zones.csv"
    path.write_text(
        "customer_id,order_ts,amount\n"
        "A,2024-03-01T01:00:00+02:00,10\n"  # 2024-02-29 23:00 UTC: before T
        "B,2024-02-29T23:30:00-05:00,10\n"  # 2024-03-01 04:30 UTC: after T
        "C,2024-02-29 23:59:59,10\n"  # naive = UTC: before T
        "D,2024-03-01T00:00:00Z,10\n"  # exactly T: after (features use < T)
        "E,2024-02-29 20:00:00 America/New_York,10\n"  # 2024-03-01 01:00 UTC: after T
        "A,2024-03-20T10:00:00+01:00,5\n"
    )
    conn, summary = _load(tmp_path, path)
    _assert_accounted(conn, summary, data_rows=6)
    snapshot_tables(conn, [date(2024, 3, 1), date(2024, 4, 1)])
    by_cutoff = conn.execute(
        "SELECT cutoff_date, list(customer_id ORDER BY customer_id), sum(orders_total) "
        "FROM customer_features GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert by_cutoff == [
        (date(2024, 3, 1), ["A", "C"], 2),
        (date(2024, 4, 1), ["A", "B", "C", "D", "E"], 6),
    ]


def test_customers_with_only_refunds_are_kept_in_the_log_but_never_in_a_snapshot(tmp_path):
    path = tmp_path / "refunds.csv"
    path.write_text(
        "customer_id,order_ts,amount\n"
        "BUYER,2023-01-10,50\n"
        "BUYER,2023-02-10,-20\n"  # in BUYER's label windows for cutoff 2023-02-01: refund only
        "REFUNDER,2023-01-05,-15\n"
        "REFUNDER,2023-03-05,-5\n"
        "LATE,2023-01-20,-8\n"  # a refund before the first purchase
        "LATE,2023-02-15,30\n"
        "BUYER,2024-06-01,1\n"  # keeps every label window mature
    )
    conn, summary = _load(tmp_path, path)
    _assert_accounted(conn, summary, data_rows=7)
    assert summary["rows_rejected"] == 0 and summary["refunds"] == 4
    snapshot_tables(conn, [date(2023, 2, 1), date(2023, 3, 1)])
    features = conn.execute(
        "SELECT cutoff_date, customer_id, orders_total, refunds_total, refund_amount "
        "FROM customer_features ORDER BY ALL"
    ).fetchall()
    assert features == [
        (date(2023, 2, 1), "BUYER", 1, 0, 0),
        (date(2023, 3, 1), "BUYER", 1, 1, 20),
        (date(2023, 3, 1), "LATE", 1, 1, 8),  # joins after its first purchase, refund counted
    ]
    labels = conn.execute(
        "SELECT customer_id, churned, future_spend FROM training_snapshots "
        "WHERE cutoff_date = '2023-02-01'"
    ).fetchall()
    assert labels == [("BUYER", True, -20)]  # a refund is not a purchase; net spend is negative


# --- a failed blocking check: nothing downstream runs, the champion stays ---------------


def test_a_failed_ingest_check_stops_the_chain_before_training_and_promotion(tmp_path):
    from ml_assets.definitions import defs

    lines = [HEADER] + [f"C{i},2023-0{1 + i % 9}-1{i % 10},{10 + i},O{i},1" for i in range(40)]
    lines += [f"C{i},not a date,5,X{i},1" for i in range(10)]  # 20% rejected, limit 5%
    path = tmp_path / "tx.csv"
    path.write_text("\n".join(lines) + "\n")
    settings = settings_in(tmp_path, transactions=str(path))
    with duckdb.connect(settings.warehouse) as conn:
        registry.ensure_tables(conn)
        champion = registry.register_version(
            conn, settings.model_dir, "churn_model",
            lambda folder: (folder / "model.txt").write_text("the champion"),
            task="churn", family="lightgbm", training_cutoffs=["2023-01-01"], holdout_cutoff="2023-06-01", features=["f"],
            hyperparameters={}, metrics={}, data_fingerprint="fp", run_id="earlier",
        )
        with registry.atomic(conn):
            registry.set_alias(conn, "churn", "champion", "churn_model", champion["version"],
                               reason="earlier promotion", moved_by="test")
        history_before = registry.history(conn).values.tolist()

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            executable(defs), instance=instance, raise_on_error=False,
            resources=resources_for(settings),
            tags={"dagster/asset_partition_range_start": "2023-02-01",
                  "dagster/asset_partition_range_end": "2023-03-01"},
        )
    assert not result.success
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed == {"rejected_share_under_limit"}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"raw_transactions", "rejected_transactions"}
    raw = next(e for e in result.get_asset_materialization_events()
               if e.asset_key == dg.AssetKey("raw_transactions")).materialization.metadata
    assert (raw["rows_in"].value, raw["rows_kept"].value, raw["rows_rejected"].value) == (50, 40, 10)

    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        tables = {t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert not tables & {"customer_features", "training_snapshots", "evaluation_metrics",
                             "promotion_decisions", "customer_scores"}
        assert list(registry.list_versions(conn)["version"]) == [1]
        assert registry.resolve_alias(conn, "churn", "champion") == ("churn_model", 1)
        assert registry.history(conn).values.tolist() == history_before


# --- security: registry rows stay inside the model directory ---------------------------


def _one_version(folder: Path):
    conn = duckdb.connect(str(folder / "warehouse.duckdb"))
    registry.ensure_tables(conn)
    row = registry.register_version(
        conn, folder / "models", "churn_model",
        lambda f: (f / "model.txt").write_text("tree"),
        task="churn", family="lightgbm", training_cutoffs=["2023-01-01"], holdout_cutoff=None, features=["f"],
        hyperparameters={}, metrics={}, data_fingerprint="fp", run_id="r",
    )
    return conn, row


def _point_row_at(conn, path) -> None:
    conn.execute("UPDATE model_versions SET artifact_path = ? WHERE version = 1", [str(path)])


def test_a_registry_row_pointing_outside_the_model_directory_is_refused(tmp_path):
    import shutil

    conn, row = _one_version(tmp_path)
    models = tmp_path / "models"
    registry.load_verified(conn, "churn_model", version=1, model_dir=models)

    # an exact copy (same digest) in another directory: refused against model_dir
    elsewhere = tmp_path / "elsewhere" / "churn_model" / Path(row["artifact_path"]).name
    shutil.copytree(row["artifact_path"], elsewhere)
    _point_row_at(conn, elsewhere)
    with pytest.raises(registry.ArtifactVerificationError, match="not this version's folder inside"):
        registry.load_verified(conn, "churn_model", version=1, model_dir=models)

    # paths that are not a version folder of this model are refused even without model_dir
    original = Path(row["artifact_path"])
    for bad in [tmp_path / "elsewhere", original.parent / ".." / "churn_model" / original.name,
                original.with_name("v0002-" + original.name[6:]), Path("models/churn_model") / original.name]:
        _point_row_at(conn, bad)
        with pytest.raises(registry.ArtifactVerificationError, match="refusing to read it"):
            registry.load_verified(conn, "churn_model", version=1)

    # the version folder swapped for a symbolic link to a copy
    _point_row_at(conn, original)
    shutil.rmtree(original)
    original.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(registry.ArtifactVerificationError, match="refusing to read it"):
        registry.load_verified(conn, "churn_model", version=1)
    conn.close()


def test_cli_verify_confines_to_the_configured_model_dir(tmp_path, monkeypatch, capsys):
    conn, row = _one_version(tmp_path)
    conn.close()
    monkeypatch.setenv("ML_ASSETS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("ML_ASSETS_MODEL_DIR", str(tmp_path / "models"))
    assert registry_cli.main(["verify", "--model", "churn_model", "--version", "1"]) == 0
    monkeypatch.setenv("ML_ASSETS_MODEL_DIR", str(tmp_path / "other_models"))
    assert registry_cli.main(["verify", "--model", "churn_model", "--version", "1"]) == 1
    assert "ML_ASSETS_MODEL_DIR" in capsys.readouterr().err


# --- security: no pickles -------------------------------------------------------------


def test_model_artifacts_are_text_and_json_and_load_without_pickle(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1},
                        lgb.Dataset(x, (x[:, 0] > 0).astype(int)), num_boost_round=5)
    write_model(tmp_path, {"churn": booster}, {"threshold": 0.5})
    # the text model, its ONNX copy (a protobuf of numbers, never loaded by the project)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["churn.onnx", "churn.txt", "meta.json"]
    assert (tmp_path / "churn.txt").read_text().startswith("tree")
    import onnx

    onnx.checker.check_model(onnx.load(str(tmp_path / "churn.onnx")))
    boosters, meta = read_model(tmp_path)
    assert meta["threshold"] == 0.5
    np.testing.assert_array_equal(boosters["churn"].predict(x), booster.predict(x))


UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def test_no_code_in_ml_assets_can_unpickle():
    problems = []
    for source in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            problems += [f"{source}:{node.lineno} imports {n}" for n in names if n in UNSAFE_MODULES]
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr == "read_pickle":
                    problems.append(f"{source}:{node.lineno} calls read_pickle")
                problems += [f"{source}:{node.lineno} passes allow_pickle=True" for k in node.keywords
                             if k.arg == "allow_pickle" and getattr(k.value, "value", False) is True]
    assert problems == []
