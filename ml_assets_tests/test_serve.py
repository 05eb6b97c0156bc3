"""Scores on demand (CLI functions and the HTTP service) and the ONNX copies,
on a small generated log scored at two cutoffs: the served newest one and a
backfilled older one, each with its own stored cut points."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import lightgbm as lgb
import numpy as np
import pytest

from ml_assets import registry
from ml_assets.definitions import defs
from ml_assets.ingest.sample_data import write_sample
from ml_assets.lib.warehouse import atomic
from ml_assets.models.boosting import matrix
from ml_assets.serve.features import btyd_fit, customer_features
from ml_assets.serve.models import Models
from ml_assets.serve.score import CannotScore, UnknownCustomer, parse_as_of, score_customer
from ml_assets.serve.warehouse import read_only
from ml_assets.settings import Settings
from ml_assets_tests.conftest import executable, resources_for, settings_in

NEWEST, OLDER = date(2025, 1, 1), date(2024, 6, 1)
RANGE = {"dagster/asset_partition_range_start": "2022-01-01",
         "dagster/asset_partition_range_end": "2025-01-01"}
FAST = {"training_cutoffs": 24, "validation_folds": 2, "max_rounds": 300, "learning_rate": 0.1,
        "early_stopping_rounds": 10, "min_child_samples": 20, "num_threads": 1}
LAX = dict(promotion_min_holdout=100, churn_min_auc_gain=-1.0, ltv_min_gini_gain=-1.0,
           promotion_alpha=1.01, churn_max_ece=1.0, ltv_max_total_error=1e9, ltv_min_coverage=0.0)
# what retrain_job runs (scoring_job's scores, shadows and monitoring left out)
TRAIN = dg.AssetSelection.all() - dg.AssetSelection.assets(
    "customer_scores", "shadow_scores", "shadow_promotion") - dg.AssetSelection.groups("monitoring")
SCORE_COLUMNS = ["churn_probability", "risk_level", "reason_1", "reason_2", "reason_3",
                 "predicted_ltv", "ltv_lower", "ltv_upper", "value_segment", "segment",
                 "churn_model_name", "churn_model_version", "ltv_model_name", "ltv_model_version"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Settings:
    folder = tmp_path_factory.mktemp("serve")
    write_sample(folder / "tx.csv", n_customers=1200, seed=5)
    settings = settings_in(folder, transactions=str(folder / "tx.csv"), **LAX)
    with dg.DagsterInstance.ephemeral() as instance:
        for selection, key, tags, config in [
            (TRAIN, None, RANGE, {"ops": {m: {"config": FAST} for m in ("churn_model", "ltv_model")}}),
            ("customer_scores", NEWEST.isoformat(), None, None),
            ("customer_scores", OLDER.isoformat(), None, None),
        ]:
            dg.materialize(executable(defs), selection=selection, instance=instance,
                           resources=resources_for(settings), run_config=config, tags=tags,
                           partition_key=key)
    return settings


def _query(settings, sql, params=None):
    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        return conn.execute(sql, params or {}).df()


def _as_row(answer: dict) -> dict:
    reasons = answer["reasons"] + [None] * (3 - len(answer["reasons"]))
    models = answer["models"]
    return {"churn_probability": answer["churn_probability"], "risk_level": answer["risk_level"],
            "reason_1": reasons[0], "reason_2": reasons[1], "reason_3": reasons[2],
            "predicted_ltv": answer["predicted_ltv"], "ltv_lower": answer["ltv_interval"]["lower"],
            "ltv_upper": answer["ltv_interval"]["upper"], "value_segment": answer["value_segment"],
            "segment": answer["segment"],
            "churn_model_name": models["churn"]["name"], "churn_model_version": models["churn"]["version"],
            "ltv_model_name": models["ltv"]["name"], "ltv_model_version": models["ltv"]["version"]}


def _plain(row) -> dict:
    return {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else
                v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


@pytest.mark.parametrize("cutoff", [NEWEST, OLDER])
def test_one_customer_at_a_scored_cutoff_equals_its_customer_scores_row(scored, cutoff):
    stored = _query(scored, "SELECT * FROM customer_scores WHERE cutoff_date = $c ORDER BY "
                            "customer_id", {"c": cutoff})
    features = _query(scored, "SELECT * FROM customer_features WHERE cutoff_date = $c",
                      {"c": cutoff}).set_index("customer_id")
    assert set(stored["segment"]) >= {"new", "steady low value"}
    sample = stored.iloc[::12]
    models = Models(scored.model_dir)
    with read_only(scored.warehouse) as conn:
        _, fit = btyd_fit(conn, cutoff)
        for _, expected in sample.iterrows():
            answer = score_customer(conn, expected["customer_id"], cutoff, models, scored)
            assert _as_row(answer) == _plain(expected[SCORE_COLUMNS]), expected["customer_id"]
            assert answer["as_of"] == answer["reference_cutoff"] == cutoff.isoformat()
            # the features themselves, bit for bit, the BTYD columns from the stored fit included
            mine = customer_features(conn, expected["customer_id"], cutoff, fit,
                                     scored.churn_window_days, scored.ltv_horizon_days)
            theirs = features.loc[expected["customer_id"]]
            for column in features.columns.drop("cutoff_date"):
                a, b = float(mine[column].iloc[0]), float(theirs[column])
                assert a == b or (np.isnan(a) and np.isnan(b)), column
    assert len(sample) >= 50


def test_population_inputs_come_from_the_newest_stored_cutoff_at_or_before_as_of(scored):
    customer = _query(scored, "SELECT customer_id FROM customer_scores WHERE cutoff_date = $c "
                              "LIMIT 1", {"c": OLDER})["customer_id"][0]
    models = Models(scored.model_dir)
    with read_only(scored.warehouse) as conn:
        mid = score_customer(conn, customer, date(2024, 7, 15), models, scored)
        assert (mid["reference_cutoff"], mid["btyd_fit_cutoff"]) == ("2024-06-01", "2024-07-01")
        # the older run's own cut points place the customer, not the newest run's
        cuts = json.loads(conn.execute(
            "SELECT value_cuts FROM scoring_runs WHERE cutoff_date = $c", {"c": OLDER}).fetchone()[0])
        level = int(np.searchsorted(cuts, mid["predicted_ltv"], side="right"))
        assert mid["value_segment"] == ["low", "medium", "high", "top"][level]
        with pytest.raises(CannotScore, match="No cutoff at or before 2024-05-31 has been scored"):
            score_customer(conn, customer, date(2024, 5, 31), models, scored)
        default = score_customer(conn, customer, None, models, scored)
    last = _query(scored, "SELECT max(order_ts)::DATE + 1 AS d FROM transactions")["d"][0]
    assert default["as_of"] == last.date().isoformat()


def _copy(settings: Settings, folder: Path) -> Settings:
    """The warehouse and model folder copied (artifact paths rewritten)."""
    copy = Settings(**{**settings.model_dump(), "warehouse": str(folder / "wh.duckdb"),
                       "model_dir": str(folder / "models")})
    shutil.copy(settings.warehouse, copy.warehouse)
    shutil.copytree(settings.model_dir, copy.model_dir)
    with duckdb.connect(copy.warehouse) as conn:
        conn.execute("UPDATE model_versions SET artifact_path = replace(artifact_path, ?, ?)",
                     [str(Path(settings.model_dir).resolve()), str(Path(copy.model_dir).resolve())])
    return copy


def _add_event(conn, customer: str, when_sql: str, amount: float, as_of: date) -> None:
    """A copy of one of the customer's rows at ``when_sql`` (SQL of $d) for ``amount``."""
    conn.execute(
        f"INSERT INTO transactions SELECT * REPLACE ({when_sql} AS order_ts, $a AS amount, "
        "source_row + 10000000 + (SELECT count(*) FROM transactions) AS source_row, "
        "NULL AS order_id) FROM transactions WHERE customer_id = $c LIMIT 1",
        {"c": customer, "d": as_of, "a": amount})


def test_events_on_or_after_as_of_never_move_the_answer(scored, tmp_path):
    copy = _copy(scored, tmp_path)
    as_of = date(2024, 7, 15)
    customer = _query(scored, "SELECT customer_id FROM transactions GROUP BY 1 HAVING "
                              "min(order_ts) < '2024-01-01' AND max(order_ts) >= $d ORDER BY 1 "
                              "LIMIT 1", {"d": as_of})["customer_id"][0]

    def answer():
        with read_only(copy.warehouse) as conn:
            return score_customer(conn, customer, as_of, Models(copy.model_dir), copy)

    before = answer()
    with duckdb.connect(copy.warehouse) as conn:  # rewrite the future: bigger, more, fewer
        conn.execute("UPDATE transactions SET amount = amount * 7 WHERE customer_id = $c "
                     "AND order_ts >= $d", {"c": customer, "d": as_of})
        _add_event(conn, customer, "$d::TIMESTAMP", 999.0, as_of)
        _add_event(conn, customer, "$d::TIMESTAMP + INTERVAL 3 DAY", 5.0, as_of)
        conn.execute("DELETE FROM transactions WHERE customer_id = $c AND order_ts >= "
                     "$d::TIMESTAMP + INTERVAL 60 DAY", {"c": customer, "d": as_of})
    assert answer() == before
    with duckdb.connect(copy.warehouse) as conn:  # one second before as_of does count
        _add_event(conn, customer, "$d::TIMESTAMP - INTERVAL 1 SECOND", 250.0, as_of)
    after = answer()
    assert after["days_since_last_purchase"] == 1 != before["days_since_last_purchase"]
    assert after["churn_probability"] != before["churn_probability"]
    # the BTYD columns come from the stored fit of the newest cutoff at or before as_of
    with read_only(copy.warehouse) as conn:
        fit_cutoff, fit = btyd_fit(conn, as_of)
        alive = customer_features(conn, customer, as_of, fit, 90, 365)["btyd_p_alive"].iloc[0]
    with duckdb.connect(copy.warehouse) as conn:
        conn.execute("UPDATE btyd_fits SET params = $p WHERE cutoff_date = $c",
                     {"p": json.dumps({**fit, "a": fit["a"] * 3}), "c": fit_cutoff})
    with read_only(copy.warehouse) as conn:
        moved = customer_features(conn, customer, as_of, btyd_fit(conn, as_of)[1], 90, 365)
    assert moved["btyd_p_alive"].iloc[0] != alive


def test_bad_input_is_refused_with_a_clear_message(scored):
    late = _query(scored, "SELECT customer_id, min(order_ts)::DATE AS first FROM transactions "
                          "WHERE amount > 0 GROUP BY 1 HAVING min(order_ts) >= '2024-07-01' "
                          "ORDER BY 1 LIMIT 1").iloc[0]
    models = Models(scored.model_dir)
    with read_only(scored.warehouse) as conn:
        with pytest.raises(UnknownCustomer, match="'nobody' is not in the transaction log"):
            score_customer(conn, "nobody", None, models, scored)
        with pytest.raises(CannotScore, match="made no purchase before"):
            score_customer(conn, late["customer_id"], late["first"].date(), models, scored)
        with pytest.raises(CannotScore, match="after the log's newest event"):
            score_customer(conn, late["customer_id"], date(2031, 1, 1), models, scored)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_as_of("2025-13-01")


# --- the HTTP service -------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _server(settings: Settings):
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "ML_ASSETS_WAREHOUSE": settings.warehouse,
           "ML_ASSETS_MODEL_DIR": settings.model_dir, "PYTHONPATH": str(Path(__file__).parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_assets.serve", "http", "--host", "127.0.0.1", "--port",
         str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/health")
                break
            except (ConnectionError, urllib.error.URLError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {process.stdout.read().decode()}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _get(url: str) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, _lower(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), json.loads(error.read())


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def test_http_scores_health_errors_and_503_while_a_writer_holds_the_warehouse(scored):
    customer = _query(scored, "SELECT customer_id FROM customer_scores WHERE cutoff_date = $c "
                              "ORDER BY customer_id LIMIT 1", {"c": NEWEST})["customer_id"][0]
    late = _query(scored, "SELECT customer_id, min(order_ts)::DATE AS first FROM transactions "
                          "WHERE amount > 0 GROUP BY 1 HAVING min(order_ts) >= '2024-07-01' "
                          "ORDER BY 1 LIMIT 1").iloc[0]
    with read_only(scored.warehouse) as conn:
        expected = score_customer(conn, customer, NEWEST, Models(scored.model_dir), scored)
    with _server(scored) as base:
        status, _, body = _get(f"{base}/customers/{customer}/score?as_of=2025-01-01")
        assert status == 200 and body == json.loads(json.dumps(expected))
        status, _, health = _get(base + "/health")
        assert status == 200 and health["status"] == "ok" and health["warehouse"]["reachable"]
        with duckdb.connect(scored.warehouse, read_only=True) as conn:
            champions = {t: registry.resolve_alias(conn, t, "champion") for t in ("churn", "ltv")}
        for task, model in health["models"].items():
            assert (model["name"], model["version"]) == champions[task]
            assert model["sha256_ok"] and not model["fallback"]
        status, _, body = _get(f"{base}/customers/nobody/score")
        assert status == 404 and "not in the transaction log" in body["error"]
        status, _, body = _get(f"{base}/customers/{late['customer_id']}/score?as_of="
                               f"{late['first'].date().isoformat()}")
        assert status == 422 and "no purchase before" in body["error"]
        status, _, body = _get(f"{base}/customers/{customer}/score?as_of=yesterday")
        assert status == 400 and "YYYY-MM-DD" in body["error"]
        writer = duckdb.connect(scored.warehouse)  # what a Dagster run holds while it writes
        try:
            status, headers, body = _get(f"{base}/customers/{customer}/score")
            assert status == 503 and int(headers["retry-after"]) > 0
            assert "writing the warehouse" in body["error"]
            status, _, health = _get(base + "/health")
            assert health["warehouse"]["reachable"] is False and health["status"] == "degraded"
        finally:
            writer.close()
        # the service held no lock: the writer got the file, and requests go on after it
        status, _, body = _get(f"{base}/customers/{customer}/score?as_of=2025-01-01")
        assert status == 200 and body == json.loads(json.dumps(expected))


def test_http_falls_back_to_the_best_baseline_and_follows_a_moved_champion(scored, tmp_path):
    copy = _copy(scored, tmp_path)
    with duckdb.connect(copy.warehouse, read_only=True) as conn:
        champion = registry.resolve_alias(conn, "churn", "champion")
        folder = Path(registry.get_version(conn, *champion)["artifact_path"])
        best = conn.execute(
            "SELECT model_name, model_version FROM evaluation_metrics WHERE task = 'churn' "
            "AND role = 'baseline' AND metric = 'roc_auc' AND evaluation_id = (SELECT "
            "evaluation_id FROM evaluation_metrics WHERE task = 'churn' ORDER BY evaluated_at "
            "DESC LIMIT 1) ORDER BY value DESC LIMIT 1").fetchone()
    with (folder / "meta.json").open("a") as handle:
        handle.write(" ")  # the champion's files no longer match their sha256
    customer = _query(copy, "SELECT customer_id FROM customer_scores ORDER BY 1 LIMIT 1")["customer_id"][0]
    with _server(copy) as base:
        status, _, body = _get(f"{base}/customers/{customer}/score")
        churn = body["models"]["churn"]
        assert status == 200 and churn["fallback"] is True
        assert (churn["name"], churn["version"]) == (best[0], best[1])
        assert f"champion {champion[0]} v{champion[1]} cannot be used" in churn["note"]
        assert "best baseline of evaluation" in churn["note"]
        assert body["models"]["ltv"]["fallback"] is False
        _, _, health = _get(base + "/health")
        assert health["status"] == "degraded" and health["models"]["churn"]["fallback"]
        # a rollback moves the alias: the next request verifies and serves the new champion
        with duckdb.connect(copy.warehouse) as conn, atomic(conn):
            registry.set_alias(conn, "churn", "champion", best[0], best[1], reason="test",
                               moved_by="test")
        status, _, body = _get(f"{base}/customers/{customer}/score")
        churn = body["models"]["churn"]
        assert status == 200 and churn["fallback"] is False
        assert churn["champion"] == f"{best[0]} v{best[1]}" == f"{churn['name']} v{churn['version']}"


# --- ONNX ---------------------------------------------------------------------

def test_onnx_copies_give_lightgbm_raw_scores_and_are_covered_by_the_sha256(scored, tmp_path):
    import onnxruntime as ort

    frame = _query(scored, "SELECT * FROM customer_features WHERE cutoff_date = $c", {"c": NEWEST})
    with duckdb.connect(scored.warehouse, read_only=True) as conn:
        rows = conn.execute("SELECT model_name, version, family, artifact_path FROM "
                            "model_versions").fetchall()
    checked = set()
    for name, version, family, path in rows:
        meta = json.loads((Path(path) / "meta.json").read_text())
        if family in ("rule", "btyd"):
            assert meta["onnx"]["exported"] is False and "nothing to export" in meta["onnx"]["reason"]
            assert not list(Path(path).glob("*.onnx"))
            continue
        assert meta["onnx"]["exported"] and set(meta["onnx"]["files"]) == set(meta["boosters"])
        x = matrix(frame, meta["features"]).astype(np.float64)
        for booster in meta["boosters"]:
            raw = lgb.Booster(model_file=str(Path(path) / f"{booster}.txt")).predict(x, raw_score=True)
            session = ort.InferenceSession(str(Path(path) / f"{booster}.onnx"),
                                           providers=["CPUExecutionProvider"])
            out = session.run(None, {"input": x})[0].ravel()
            np.testing.assert_allclose(out, raw, rtol=1e-5, atol=0)
            checked.add((family, booster))
    assert {("lightgbm", "churn"), ("lightgbm", "mean"), ("lightgbm", "lower"),
            ("lightgbm", "upper"), ("plain_lightgbm", "model")} <= checked
    copy = _copy(scored, tmp_path)
    with duckdb.connect(copy.warehouse) as conn:
        name, version, path = conn.execute(
            "SELECT model_name, version, artifact_path FROM model_versions WHERE family = "
            "'lightgbm' LIMIT 1").fetchone()
        (Path(path) / "churn.onnx" if name == "churn_model" else Path(path) / "mean.onnx") \
            .write_bytes(b"tampered")
        with pytest.raises(registry.ArtifactVerificationError):
            registry.load_verified(conn, name, version=version, model_dir=copy.model_dir)
