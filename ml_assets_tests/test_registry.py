"""The model registry: versions, verified folders, per-task aliases across
models of any family, rollback, retention, the schema 1 -> 2 migration, crash
safety (injected failures and a real SIGKILL) and the CLI."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from ml_assets import registry
from ml_assets.registry import __main__ as cli
from ml_assets.registry import registry as registry_module

MODEL = "churn_model"
BASELINE = "bg_nbd_churn"
TASK_OF = {"churn_model": "churn", "bg_nbd_churn": "churn", "ltv_model": "ltv"}
FAMILY_OF = {"bg_nbd_churn": "btyd"}


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def model_dir(tmp_path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def conn(db_path):
    connection = duckdb.connect(str(db_path))
    registry.ensure_tables(connection)
    yield connection
    connection.close()


def _files(content: str):
    def write_files(folder: Path) -> None:
        (folder / "model.txt").write_text(content)
        (folder / "meta.json").write_text('{"boosters": ["churn"]}')

    return write_files


def _register(conn, model_dir, content="tree 1", model_name=MODEL, **overrides):
    fields = dict(
        task=TASK_OF.get(model_name, "churn"),
        family=FAMILY_OF.get(model_name, "lightgbm"),
        training_cutoffs=[date(2023, 1, 1), "2023-02-01"],
        holdout_cutoff=date(2023, 6, 1),
        features=["recency_days", "frequency"],
        hyperparameters={"learning_rate": 0.05, "num_leaves": 15},
        metrics={"roc_auc": 0.81, "valid_cutoffs": ["2023-03-01"]},
        data_fingerprint="fp-1",
        run_id="run-1",
    )
    fields.update(overrides)
    return registry.register_version(conn, model_dir, model_name, _files(content), **fields)


def _expected_digest(files: dict[str, bytes]) -> str:
    """The documented digest, computed independently of the registry."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        data = files[relative]
        digest.update(relative.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _promote(conn, *targets):
    """Make each target champion in turn: a version of MODEL, or (model, version)."""
    for target in targets:
        model_name, version = (MODEL, target) if isinstance(target, int) else target
        with registry.atomic(conn):
            registry.set_alias(
                conn, TASK_OF[model_name], "champion", model_name, version,
                reason=f"promote {model_name} v{version}", moved_by="test",
            )


def _folders(model_dir, model_name=MODEL) -> set[str]:
    home = model_dir / model_name
    return {p.name for p in home.iterdir() if p.is_dir()} if home.exists() else set()


def _assert_consistent(conn):
    """Every live row points at a folder whose digest verifies."""
    for row in registry.list_versions(conn).itertuples():
        if row.status == "active":
            registry.load_verified(conn, row.model_name, version=row.version)


def _champion_moves(conn, task):
    return conn.execute(
        "SELECT from_model, from_version, to_model, to_version FROM alias_history "
        "WHERE task = ? AND alias = 'champion' ORDER BY rowid", [task],
    ).fetchall()


# --- registration ------------------------------------------------------------


def test_register_twice_gives_versions_1_and_2_with_digests_and_folders(conn, model_dir):
    first = _register(conn, model_dir, "tree 1")
    second = _register(conn, model_dir, "tree 2", run_id="run-2")

    assert (first["version"], second["version"]) == (1, 2)
    for row, content in ((first, "tree 1"), (second, "tree 2")):
        folder = Path(row["artifact_path"])
        assert folder.parent == (model_dir / MODEL).resolve()
        assert re.fullmatch(rf"v{row['version']:04d}-[0-9a-f]{{8}}", folder.name)
        assert row["sha256"] == _expected_digest(
            {"meta.json": b'{"boosters": ["churn"]}', "model.txt": content.encode()}
        )
        assert row["status"] == "active"
        assert (row["task"], row["family"]) == ("churn", "lightgbm")
    assert first["sha256"] != second["sha256"]
    assert first["training_cutoffs"] == ["2023-01-01", "2023-02-01"]
    assert first["holdout_cutoff"] == date(2023, 6, 1)
    assert first["features"] == ["recency_days", "frequency"]
    assert first["metrics"]["valid_cutoffs"] == ["2023-03-01"]
    assert first["code_version"].startswith("ml_assets ")
    assert second["run_id"] == "run-2"
    assert _folders(model_dir) == {Path(first["artifact_path"]).name, Path(second["artifact_path"]).name}
    assert registry.get_version(conn, MODEL, 2) == second
    assert registry.get_version(conn, MODEL, 3) is None
    assert list(registry.list_versions(conn, MODEL)["version"]) == [1, 2]


def test_versions_are_numbered_per_model_and_record_task_and_family(conn, model_dir):
    _register(conn, model_dir)
    _register(conn, model_dir)
    ltv = _register(conn, model_dir, model_name="ltv_model")
    baseline = _register(conn, model_dir, model_name=BASELINE)
    assert ltv["version"] == 1 and baseline["version"] == 1
    assert (ltv["task"], ltv["family"]) == ("ltv", "lightgbm")
    assert (baseline["task"], baseline["family"]) == ("churn", "btyd")
    listed = registry.list_versions(conn)
    assert list(zip(listed["task"], listed["model_name"], listed["version"])) == [
        ("churn", BASELINE, 1), ("churn", MODEL, 1), ("churn", MODEL, 2), ("ltv", "ltv_model", 1),
    ]


def test_digest_covers_paths_and_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        (folder / "sub").mkdir(parents=True)
    (a / "x.txt").write_bytes(b"12")
    (a / "sub" / "y.txt").write_bytes(b"3")
    (b / "x.txt").write_bytes(b"1")
    (b / "sub" / "y.txt").write_bytes(b"23")  # same bytes overall, different split
    assert registry.artifact_digest(a) == _expected_digest({"sub/y.txt": b"3", "x.txt": b"12"})
    assert registry.artifact_digest(a) != registry.artifact_digest(b)
    (a / "x.txt").rename(a / "z.txt")  # same bytes, different name
    assert registry.artifact_digest(a) == _expected_digest({"sub/y.txt": b"3", "z.txt": b"12"})


def test_nan_metrics_are_stored_as_json_null(conn, model_dir):
    row = _register(conn, model_dir, metrics={"roc_auc": float("nan"), "n": 3})
    assert row["metrics"] == {"roc_auc": None, "n": 3}
    stored = conn.execute("SELECT metrics->>'n' FROM model_versions").fetchone()[0]
    assert stored == "3"


def test_invalid_inputs_are_refused_before_any_folder_is_written(conn, model_dir):
    with pytest.raises(ValueError, match="ISO dates"):
        _register(conn, model_dir, holdout_cutoff="June 2023")
    with pytest.raises(ValueError, match="folder name"):
        _register(conn, model_dir, model_name="../escape")
    with pytest.raises(ValueError, match="task must be one of"):
        _register(conn, model_dir, task="revenue")
    with pytest.raises(ValueError, match="'xgboost'"):
        _register(conn, model_dir, family="xgboost")
    assert not model_dir.exists()
    assert conn.execute("SELECT count(*) FROM model_versions").fetchone()[0] == 0


def test_empty_artifact_is_refused(conn, model_dir):
    with pytest.raises(ValueError, match="holds no files"):
        registry.register_version(
            conn, model_dir, MODEL, lambda folder: None, task="churn", family="lightgbm",
            training_cutoffs=[], holdout_cutoff=None, features=[], hyperparameters={},
            metrics={}, data_fingerprint="fp", run_id=None,
        )
    assert _folders(model_dir) == set()
    assert conn.execute("SELECT count(*) FROM model_versions").fetchone()[0] == 0


# --- verification --------------------------------------------------------------


def test_tampered_byte_is_refused_naming_both_digests(conn, model_dir):
    row = _register(conn, model_dir, "tree 1")
    model_file = Path(row["artifact_path"]) / "model.txt"
    model_file.write_bytes(b"tree 2")  # one byte differs
    with pytest.raises(registry.ArtifactVerificationError) as caught:
        registry.load_verified(conn, MODEL, version=1)
    error = caught.value
    actual = registry.artifact_digest(Path(row["artifact_path"]))
    assert error.expected == row["sha256"] and error.actual == actual != row["sha256"]
    assert row["sha256"] in str(error) and actual in str(error)
    assert "churn_model v1" in str(error)
    assert "rollback --task churn --to MODEL:V" in str(error)


def test_added_file_is_refused(conn, model_dir):
    row = _register(conn, model_dir)
    (Path(row["artifact_path"]) / "extra.txt").write_text("x")
    with pytest.raises(registry.ArtifactVerificationError, match="do not match"):
        registry.load_verified(conn, MODEL, version=1)


def test_missing_folder_is_refused(conn, model_dir):
    row = _register(conn, model_dir)
    shutil.rmtree(row["artifact_path"])
    with pytest.raises(registry.ArtifactVerificationError, match="missing") as caught:
        registry.load_verified(conn, MODEL, version=1)
    assert caught.value.expected == row["sha256"] and caught.value.actual is None


def test_folder_outside_the_model_directory_is_refused(conn, model_dir, tmp_path):
    row = _register(conn, model_dir)
    elsewhere = tmp_path / "elsewhere" / MODEL / Path(row["artifact_path"]).name
    shutil.copytree(row["artifact_path"], elsewhere)
    conn.execute(
        "UPDATE model_versions SET artifact_path = ? WHERE model_name = ? AND version = 1",
        [str(elsewhere), MODEL],
    )
    # The copy's digest matches, but it is not inside the model directory given.
    with pytest.raises(registry.ArtifactVerificationError, match="refusing to read it"):
        registry.load_verified(conn, MODEL, version=1, model_dir=model_dir)
    conn.execute(
        "UPDATE model_versions SET artifact_path = ? WHERE model_name = ? AND version = 1",
        [str(tmp_path / "elsewhere" / "ltv_model" / elsewhere.name), MODEL],
    )
    with pytest.raises(registry.ArtifactVerificationError, match="refusing to read it"):
        registry.load_verified(conn, MODEL, version=1)


def test_unknown_version_and_unset_alias_are_refused(conn, model_dir):
    _register(conn, model_dir)
    with pytest.raises(registry.ModelNotFoundError, match="v7 is not registered"):
        registry.load_verified(conn, MODEL, version=7)
    with pytest.raises(registry.ModelNotFoundError, match="alias 'champion'"):
        registry.load_verified(conn, MODEL, alias="champion")
    with pytest.raises(registry.ModelNotFoundError, match="The churn task has no champion"):
        registry.load_alias(conn, "churn", "champion")
    with pytest.raises(TypeError, match="exactly one"):
        registry.load_verified(conn, MODEL, version=1, alias="champion")
    row, folder = registry.load_verified(conn, MODEL, version=1)
    assert folder == Path(row["artifact_path"]) and row["version"] == 1


# --- aliases and rollback ------------------------------------------------------


def test_aliases_and_history_are_recorded(conn, model_dir):
    _register(conn, model_dir, "a")
    _register(conn, model_dir, "b")
    assert registry.resolve_alias(conn, "churn", "champion") is None
    with registry.atomic(conn):
        registry.set_alias(
            conn, "churn", "challenger", MODEL, 1, reason="trained", moved_by="run:1", run_id="r1"
        )
        registry.set_alias(
            conn, "churn", "champion", MODEL, 1, reason="first", moved_by="promotion:1", run_id="r1"
        )
    with registry.atomic(conn):
        registry.set_alias(conn, "churn", "challenger", MODEL, 2, reason="trained", moved_by="run:2")

    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 1)
    assert registry.resolve_alias(conn, "churn", "challenger") == (MODEL, 2)
    assert registry.resolve_alias(conn, "ltv", "champion") is None
    row, _ = registry.load_verified(conn, MODEL, alias="challenger")
    assert row["version"] == 2
    row, folder = registry.load_alias(conn, "churn", "champion", model_dir)
    assert (row["model_name"], row["version"]) == (MODEL, 1) and folder == Path(row["artifact_path"])
    moves = conn.execute(
        "SELECT task, alias, from_model, from_version, to_model, to_version, moved_by, run_id "
        "FROM alias_history ORDER BY rowid"
    ).fetchall()
    assert moves == [
        ("churn", "challenger", None, None, MODEL, 1, "run:1", "r1"),
        ("churn", "champion", None, None, MODEL, 1, "promotion:1", "r1"),
        ("churn", "challenger", MODEL, 1, MODEL, 2, "run:2", None),
    ]
    assert list(registry.history(conn, "churn")["reason"]) == ["trained", "first", "trained"]
    assert list(registry.history(conn, model_name=MODEL)["reason"]) == ["trained", "first", "trained"]
    assert registry.history(conn, "ltv").empty
    assert registry.history(conn, model_name="ltv_model").empty
    aliases = registry.list_aliases(conn)
    assert {
        (a.task, a.alias): (a.model_name, a.version) for a in aliases.itertuples()
    } == {("churn", "challenger"): (MODEL, 2), ("churn", "champion"): (MODEL, 1)}
    assert list(registry.list_versions(conn, MODEL)["aliases"]) == ["churn:champion", "churn:challenger"]


def test_set_alias_refuses_bad_targets(conn, model_dir):
    row = _register(conn, model_dir)
    with pytest.raises(ValueError, match="Unknown alias"):
        registry.set_alias(conn, "churn", "champoin", MODEL, 1, reason="typo", moved_by="me")
    with pytest.raises(ValueError, match="Unknown task"):
        registry.set_alias(conn, "revenue", "champion", MODEL, 1, reason="typo", moved_by="me")
    with pytest.raises(ValueError, match="reason"):
        registry.set_alias(conn, "churn", "champion", MODEL, 1, reason="", moved_by="me")
    with pytest.raises(registry.ModelNotFoundError):
        registry.set_alias(conn, "churn", "champion", MODEL, 5, reason="no such", moved_by="me")
    with pytest.raises(registry.ModelNotFoundError):
        registry.set_alias(conn, "churn", "champion", BASELINE, 1, reason="no such", moved_by="me")
    (Path(row["artifact_path"]) / "model.txt").write_text("swapped")
    with pytest.raises(registry.ArtifactVerificationError):
        registry.set_alias(conn, "churn", "champion", MODEL, 1, reason="tampered", moved_by="me")
    assert registry.resolve_alias(conn, "churn", "champion") is None
    assert registry.history(conn).empty


def test_set_alias_refuses_a_model_of_the_other_task(conn, model_dir):
    _register(conn, model_dir, model_name="ltv_model")
    _register(conn, model_dir, model_name=MODEL)
    _promote(conn, 1)
    refused = "ltv_model v1 is a ltv model; it cannot be the churn champion"
    with pytest.raises(registry.RegistryError, match=refused):
        with registry.atomic(conn):
            registry.set_alias(conn, "churn", "champion", "ltv_model", 1, reason="wrong", moved_by="me")
    with pytest.raises(registry.RegistryError, match="churn_model v1 is a churn model"):
        registry.set_alias(conn, "ltv", "challenger", MODEL, 1, reason="wrong", moved_by="me")
    with pytest.raises(registry.RegistryError, match="is a ltv model"):
        registry.rollback(conn, "churn", to=("ltv_model", 1), reason="wrong", moved_by="me")
    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 1)
    assert registry.resolve_alias(conn, "ltv", "champion") is None
    assert registry.resolve_alias(conn, "ltv", "challenger") is None
    assert len(registry.history(conn)) == 1


def test_rollback_returns_to_previous_champion_and_walks_back(conn, model_dir):
    for content in ("a", "b", "c"):
        _register(conn, model_dir, content)
    _promote(conn, 1, 2, 3)

    moved = registry.rollback(conn, "churn", reason="v3 misbehaves", moved_by="oncall")
    assert moved == {"from": (MODEL, 3), "to": (MODEL, 2)}
    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 2)
    last = registry.history(conn, "churn").iloc[-1]
    moved_refs = (last["from_model"], last["from_version"], last["to_model"], last["to_version"])
    assert moved_refs == (MODEL, 3, MODEL, 2)
    assert last["moved_by"] == "oncall"
    assert last["reason"] == "rollback: v3 misbehaves"

    # A second rollback goes further back rather than returning to v3.
    assert registry.rollback(conn, "churn", reason="v2 too", moved_by="oncall") == {
        "from": (MODEL, 2), "to": (MODEL, 1),
    }
    with pytest.raises(registry.ModelNotFoundError, match="no earlier champion"):
        registry.rollback(conn, "churn", reason="again", moved_by="oncall")
    assert registry.rollback(
        conn, "churn", to=(MODEL, 3), reason="fixed upstream", moved_by="oncall"
    ) == {"from": (MODEL, 1), "to": (MODEL, 3)}
    assert len(registry.history(conn, "churn")) == 6


def test_rollback_without_any_champion_is_refused_but_a_named_target_sets_one(conn, model_dir):
    _register(conn, model_dir)
    with pytest.raises(registry.ModelNotFoundError, match="The churn task has no champion to roll back"):
        registry.rollback(conn, "churn", reason="nothing yet", moved_by="oncall")
    assert registry.history(conn).empty
    assert registry.rollback(conn, "churn", to=(MODEL, 1), reason="seed", moved_by="oncall") == {
        "from": None, "to": (MODEL, 1),
    }
    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 1)


def test_rollback_refuses_archived_unverifiable_and_current_versions(conn, model_dir):
    for content in ("a", "b", "c", "d"):
        _register(conn, model_dir, content)
    _promote(conn, 3, 4)
    assert registry.apply_retention(conn, model_dir, MODEL, keep_candidates=1) == [1, 2]
    before = len(registry.history(conn))

    with pytest.raises(registry.ModelNotFoundError, match="archived"):
        registry.rollback(conn, "churn", to=(MODEL, 1), reason="try", moved_by="oncall")
    with pytest.raises(registry.RegistryError, match="already the churn champion"):
        registry.rollback(conn, "churn", to=(MODEL, 4), reason="try", moved_by="oncall")
    row = registry.get_version(conn, MODEL, 3)
    (Path(row["artifact_path"]) / "model.txt").write_text("corrupt")
    with pytest.raises(registry.ArtifactVerificationError, match=row["sha256"]):
        registry.rollback(conn, "churn", reason="try", moved_by="oncall")

    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 4)
    assert len(registry.history(conn)) == before


# --- champions across models and tasks -------------------------------------------


def test_champion_moves_between_models_of_a_task_and_rollback_walks_back_across_them(conn, model_dir):
    _register(conn, model_dir, "rule of thumb", model_name=BASELINE)
    _register(conn, model_dir, "learned 1")
    _register(conn, model_dir, "learned 2")
    _promote(conn, (BASELINE, 1))  # first decision: the baseline beat the candidate
    _promote(conn, (MODEL, 1), (MODEL, 2))

    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 2)
    assert _champion_moves(conn, "churn") == [
        (None, None, BASELINE, 1), (BASELINE, 1, MODEL, 1), (MODEL, 1, MODEL, 2),
    ]
    assert registry.rollback(conn, "churn", reason="v2 drifts", moved_by="oncall") == {
        "from": (MODEL, 2), "to": (MODEL, 1),
    }
    assert registry.rollback(conn, "churn", reason="v1 too", moved_by="oncall") == {
        "from": (MODEL, 1), "to": (BASELINE, 1),
    }
    with pytest.raises(registry.ModelNotFoundError, match="no earlier champion"):
        registry.rollback(conn, "churn", reason="again", moved_by="oncall")

    # The baseline is served through the task's alias, not through the learned model's name.
    row, folder = registry.load_alias(conn, "churn", "champion", model_dir)
    assert (row["model_name"], row["version"], row["family"]) == (BASELINE, 1, "btyd")
    assert (folder / "model.txt").read_text() == "rule of thumb"
    with pytest.raises(registry.ModelNotFoundError, match="alias 'champion'"):
        registry.load_verified(conn, MODEL, alias="champion")
    assert registry.load_verified(conn, BASELINE, alias="champion")[0]["version"] == 1
    versions = registry.list_versions(conn)
    assert dict(zip(zip(versions["model_name"], versions["version"]), versions["aliases"])) == {
        (BASELINE, 1): "churn:champion", (MODEL, 1): "", (MODEL, 2): "",
    }
    # history by model sees the moves to and from it
    assert len(registry.history(conn, model_name=BASELINE)) == 3
    assert len(registry.history(conn, model_name=MODEL)) == 4


def test_rollback_stack_never_toggles_back_across_models(conn, model_dir):
    _register(conn, model_dir, model_name=BASELINE)
    _register(conn, model_dir, "a")
    _register(conn, model_dir, "b")
    # baseline, v1, back to baseline, v2: the stack is [baseline, v2]
    _promote(conn, (BASELINE, 1), (MODEL, 1), (BASELINE, 1), (MODEL, 2))
    assert registry.rollback(conn, "churn", reason="v2 bad", moved_by="oncall")["to"] == (BASELINE, 1)
    with pytest.raises(registry.ModelNotFoundError, match="no earlier champion"):
        registry.rollback(conn, "churn", reason="again", moved_by="oncall")
    assert registry.resolve_alias(conn, "churn", "champion") == (BASELINE, 1)


def test_churn_and_ltv_champions_are_independent(conn, model_dir):
    _register(conn, model_dir, model_name=BASELINE)
    _register(conn, model_dir, "churn 1")
    _register(conn, model_dir, "ltv 1", model_name="ltv_model")
    _register(conn, model_dir, "ltv 2", model_name="ltv_model")
    # interleave the two tasks' moves
    _promote(conn, (BASELINE, 1), ("ltv_model", 1), (MODEL, 1), ("ltv_model", 2))
    ltv_history = registry.history(conn, "ltv")

    assert registry.rollback(conn, "churn", reason="churn only", moved_by="oncall") == {
        "from": (MODEL, 1), "to": (BASELINE, 1),
    }
    assert registry.resolve_alias(conn, "ltv", "champion") == ("ltv_model", 2)
    assert registry.history(conn, "ltv").equals(ltv_history)

    assert registry.rollback(conn, "ltv", reason="ltv only", moved_by="oncall") == {
        "from": ("ltv_model", 2), "to": ("ltv_model", 1),
    }
    assert registry.resolve_alias(conn, "churn", "champion") == (BASELINE, 1)
    with pytest.raises(registry.ModelNotFoundError, match="The ltv task has no earlier champion"):
        registry.rollback(conn, "ltv", reason="again", moved_by="oncall")
    with pytest.raises(registry.ModelNotFoundError, match="The churn task has no earlier champion"):
        registry.rollback(conn, "churn", reason="again", moved_by="oncall")
    aliases = registry.list_aliases(conn)
    assert list(zip(aliases["task"], aliases["alias"], aliases["model_name"], aliases["version"])) == [
        ("churn", "champion", BASELINE, 1), ("ltv", "champion", "ltv_model", 1),
    ]


def test_retention_keeps_versions_that_were_champion_of_the_task_as_another_model(conn, model_dir):
    _register(conn, model_dir, "rule 1", model_name=BASELINE)
    _register(conn, model_dir, "rule 2", model_name=BASELINE)
    _register(conn, model_dir, "rule 3", model_name=BASELINE)
    for content in ("a", "b", "c"):
        _register(conn, model_dir, content)
    _promote(conn, (BASELINE, 2), (MODEL, 1))  # baseline v2 was champion, only as the from side now

    assert registry.apply_retention(conn, model_dir, BASELINE, keep_candidates=0) == [1, 3]
    assert registry.apply_retention(conn, model_dir, MODEL, keep_candidates=0) == [2, 3]
    assert registry.rollback(conn, "churn", reason="back", moved_by="oncall")["to"] == (BASELINE, 2)
    _assert_consistent(conn)


# --- transactions and failures ---------------------------------------------------


def test_atomic_rolls_back_every_statement_on_error(conn):
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    with pytest.raises(RuntimeError):
        with registry.atomic(conn):
            conn.execute("INSERT INTO t VALUES (1), (2)")
            raise RuntimeError("boom")
    with pytest.raises(duckdb.ConstraintException):
        with registry.atomic(conn):
            conn.execute("INSERT INTO t VALUES (3)")
            conn.execute("INSERT INTO t VALUES (3)")
    with pytest.raises(RuntimeError):
        with registry.atomic(conn):
            conn.execute("INSERT INTO t VALUES (4)")
            with registry.atomic(conn):  # joins the outer transaction
                conn.execute("INSERT INTO t VALUES (5)")
            raise RuntimeError("outer fails after inner finished")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert not registry.in_transaction(conn)
    with registry.atomic(conn):
        conn.execute("INSERT INTO t VALUES (6)")
    assert conn.execute("SELECT list(k) FROM t").fetchone()[0] == [6]


def test_alias_move_rolls_back_with_the_rest_of_the_transaction(conn, model_dir):
    _register(conn, model_dir)
    with pytest.raises(RuntimeError):
        with registry.atomic(conn):
            registry.set_alias(conn, "churn", "champion", MODEL, 1, reason="promote", moved_by="test")
            raise RuntimeError("decision insert failed")
    assert registry.resolve_alias(conn, "churn", "champion") is None
    assert registry.history(conn).empty


def test_register_version_refuses_an_open_transaction(conn, model_dir):
    with pytest.raises(registry.RegistryError, match="outside `atomic"):
        with registry.atomic(conn):
            _register(conn, model_dir)
    assert _folders(model_dir) == set()


def test_failing_write_files_leaves_no_row_and_no_folder(conn, model_dir):
    def write_files(folder: Path) -> None:
        (folder / "model.txt").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        registry.register_version(
            conn, model_dir, MODEL, write_files, task="churn", family="lightgbm",
            training_cutoffs=["2023-01-01"], holdout_cutoff="2023-06-01", features=[],
            hyperparameters={}, metrics={}, data_fingerprint="fp", run_id="r",
        )
    assert conn.execute("SELECT count(*) FROM model_versions").fetchone()[0] == 0
    assert list((model_dir / MODEL).iterdir()) == []


def test_failure_between_rename_and_commit_leaves_registry_consistent(conn, model_dir, monkeypatch):
    _register(conn, model_dir, "first")
    original = registry_module._insert_version
    renamed = []

    def insert_then_fail(connection, values):
        renamed.append(Path(values["artifact_path"]))
        assert renamed[-1].is_dir()  # the folder already has its final name
        original(connection, values)
        raise duckdb.IOException("simulated crash before COMMIT")

    monkeypatch.setattr(registry_module, "_insert_version", insert_then_fail)
    with pytest.raises(duckdb.IOException, match="simulated"):
        _register(conn, model_dir, "second")
    monkeypatch.undo()

    assert not renamed[0].exists()
    assert list(registry.list_versions(conn, MODEL)["version"]) == [1]
    _assert_consistent(conn)
    row = _register(conn, model_dir, "third")  # no manual cleanup needed
    assert row["version"] == 2 and Path(row["artifact_path"]) != renamed[0]
    _assert_consistent(conn)


def test_concurrent_registration_conflict_removes_the_losers_folder(conn, model_dir, monkeypatch):
    """Two connections pick the same version number; the second to commit
    fails on the primary key and its folder goes with it."""
    other = conn.cursor()
    original = registry_module._publish
    winner = []

    def publish_then_race(tmp, final):
        original(tmp, final)
        if not winner:  # only the first connection's registration races
            winner.append(None)
            winner[0] = _register(other, model_dir, "winner")

    monkeypatch.setattr(registry_module, "_publish", publish_then_race)
    with pytest.raises(duckdb.Error, match="(?i)primary key|conflict"):
        _register(conn, model_dir, "loser")
    monkeypatch.undo()

    assert winner[0]["version"] == 1
    assert _folders(model_dir) == {Path(winner[0]["artifact_path"]).name}
    assert list(registry.list_versions(conn, MODEL)["version"]) == [1]
    _assert_consistent(conn)
    other.close()


_CHILD = textwrap.dedent(
    """
    import sys, time, types
    from pathlib import Path

    # Import the registry without ml_assets/__init__ (the whole Dagster code
    # location): the child only registers, and starts in a second, not ten.
    package = types.ModuleType("ml_assets")
    package.__path__ = [sys.argv[5]]
    sys.modules["ml_assets"] = package

    import duckdb
    from ml_assets.registry import registry as reg

    db, model_dir, stage, marker = sys.argv[1:5]

    def hang():
        Path(marker).write_text("ready")
        time.sleep(120)

    def write_files(folder):
        (folder / "model.txt").write_text("killed " * 1000)
        if stage == "write_files":
            hang()

    if stage != "write_files":
        name = {"after_rename": "_publish", "after_insert": "_insert_version"}[stage]
        original = getattr(reg, name)

        def wrapped(*args):
            original(*args)
            hang()

        setattr(reg, name, wrapped)

    conn = duckdb.connect(db)
    reg.register_version(
        conn, model_dir, "churn_model", write_files, task="churn", family="lightgbm",
        training_cutoffs=["2023-01-01"], holdout_cutoff="2023-06-01", features=["f"],
        hyperparameters={}, metrics={}, data_fingerprint="fp", run_id="doomed",
    )
    """
)


def _kill_mid_registration(tmp_path, db_path, model_dir, stage):
    marker = tmp_path / f"{stage}.ready"
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    package_dir = Path(registry.__file__).resolve().parents[1]
    child = subprocess.Popen(
        [sys.executable, str(script), str(db_path), str(model_dir), stage, str(marker), str(package_dir)],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(f"child exited early: {child.stderr.read().decode()}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("child never reached the kill point")
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    child.stderr.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_mid_registration_leaves_registry_consistent(tmp_path, db_path, model_dir):
    conn = duckdb.connect(str(db_path))
    _register(conn, model_dir, "survivor")
    conn.close()

    for stage in ("write_files", "after_rename", "after_insert"):
        _kill_mid_registration(tmp_path, db_path, model_dir, stage)
        conn = duckdb.connect(str(db_path))
        assert list(registry.list_versions(conn, MODEL)["version"]) == [1], stage
        _assert_consistent(conn)
        conn.close()

    conn = duckdb.connect(str(db_path))
    leftovers = _folders(model_dir) - {Path(registry.get_version(conn, MODEL, 1)["artifact_path"]).name}
    assert len(leftovers) == 3  # one tmp folder, two renamed but unregistered
    assert sum(name.startswith(".tmp-") for name in leftovers) == 1

    row = _register(conn, model_dir, "after the crashes")
    assert row["version"] == 2
    _assert_consistent(conn)
    removed = registry.sweep_orphans(conn, model_dir)
    assert {p.name for p in removed} == leftovers
    assert _folders(model_dir) == {
        Path(registry.get_version(conn, MODEL, v)["artifact_path"]).name for v in (1, 2)
    }
    conn.close()


def test_sweep_removes_only_unregistered_folders(conn, model_dir):
    row = _register(conn, model_dir)
    baseline = _register(conn, model_dir, model_name=BASELINE)
    home = model_dir / MODEL
    (home / ".tmp-abandoned").mkdir()
    (home / "v0002-deadbeef").mkdir()
    (home / "notes").mkdir()  # not the registry's: left alone
    (model_dir / "ltv_model" / "v0001-0badf00d").mkdir(parents=True)

    removed = registry.sweep_orphans(conn, model_dir, MODEL)
    assert {p.name for p in removed} == {".tmp-abandoned", "v0002-deadbeef"}
    assert _folders(model_dir) == {Path(row["artifact_path"]).name, "notes"}
    assert (model_dir / "ltv_model" / "v0001-0badf00d").exists()
    assert [p.name for p in registry.sweep_orphans(conn, model_dir)] == ["v0001-0badf00d"]
    assert _folders(model_dir, BASELINE) == {Path(baseline["artifact_path"]).name}
    _assert_consistent(conn)


# --- retention -------------------------------------------------------------------


def test_retention_keeps_aliases_ever_champions_and_newest(conn, model_dir):
    for i in range(1, 9):
        _register(conn, model_dir, f"tree {i}")
    _promote(conn, 2, 4)  # v2 was champion, v4 is
    with registry.atomic(conn):
        registry.set_alias(conn, "churn", "challenger", MODEL, 6, reason="candidate", moved_by="test")
    paths = {v: Path(registry.get_version(conn, MODEL, v)["artifact_path"]) for v in range(1, 9)}

    archived = registry.apply_retention(conn, model_dir, MODEL, keep_candidates=2)

    assert archived == [1, 3, 5]
    status = dict(conn.execute("SELECT version, status FROM model_versions").fetchall())
    assert {v for v, s in status.items() if s == "archived"} == {1, 3, 5}
    assert len(status) == 8  # rows stay for lineage
    for version, path in paths.items():
        assert path.exists() == (version not in archived)
    with pytest.raises(registry.ModelNotFoundError, match="v3 is archived: retention deleted its folder"):
        registry.load_verified(conn, MODEL, version=3)
    _assert_consistent(conn)
    assert registry.apply_retention(conn, model_dir, MODEL, keep_candidates=2) == []
    assert registry.sweep_orphans(conn, model_dir) == []
    assert _register(conn, model_dir, "tree 9")["version"] == 9  # numbers are never reused


def test_retention_of_one_model_leaves_the_other_models_alone(conn, model_dir):
    _register(conn, model_dir, "churn 1")
    _register(conn, model_dir, "churn 2")
    _register(conn, model_dir, "ltv 1", model_name="ltv_model")
    _register(conn, model_dir, "ltv 2", model_name="ltv_model")
    _promote(conn, ("ltv_model", 1))  # ltv_model v1 is champion: no reason to keep churn_model v1
    assert registry.apply_retention(conn, model_dir, MODEL, keep_candidates=0) == [1, 2]
    assert registry.apply_retention(conn, model_dir, "ltv_model", keep_candidates=0) == [2]
    _assert_consistent(conn)


def test_retention_refuses_an_open_transaction(conn, model_dir):
    _register(conn, model_dir)
    with pytest.raises(registry.RegistryError, match="apply_retention"):
        with registry.atomic(conn):
            registry.apply_retention(conn, model_dir, MODEL, keep_candidates=0)
    assert registry.get_version(conn, MODEL, 1)["status"] == "active"


# --- migration from registry schema 1 ----------------------------------------------

_SCHEMA_1 = """
CREATE TABLE model_versions (
    model_name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    artifact_path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    training_cutoffs VARCHAR,
    holdout_cutoff DATE,
    features VARCHAR,
    hyperparameters VARCHAR,
    code_version VARCHAR,
    data_fingerprint VARCHAR,
    metrics VARCHAR,
    run_id VARCHAR,
    PRIMARY KEY (model_name, version)
);
CREATE TABLE model_aliases (
    model_name VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, alias)
);
CREATE TABLE alias_history (
    model_name VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    from_version INTEGER,
    to_version INTEGER NOT NULL,
    moved_at TIMESTAMP NOT NULL,
    moved_by VARCHAR,
    run_id VARCHAR,
    reason VARCHAR
);
"""
_V1_VERSION_COLUMNS = (
    "model_name, version, created_at, artifact_path, sha256, status, training_cutoffs, "
    "holdout_cutoff, features, hyperparameters, code_version, data_fingerprint, metrics, run_id"
)
# (model_name, alias, from_version, to_version, moved_at, moved_by, run_id, reason), in
# commit order; the clock steps back once, so only insertion order is trustworthy.
_V1_HISTORY = [
    ("churn_model", "challenger", None, 1, datetime(2024, 1, 1, 9), "run:a", "a", "trained"),
    ("churn_model", "champion", None, 1, datetime(2024, 1, 1, 10), "promotion:a", "a", "first"),
    ("ltv_model", "champion", None, 1, datetime(2024, 1, 2), "promotion:b", "b", "first ltv"),
    ("churn_model", "challenger", 1, 2, datetime(2024, 2, 1, 9), "run:c", "c", "trained"),
    ("churn_model", "champion", 1, 2, datetime(2024, 1, 15), "promotion:c", "c", "better"),
    ("ltv_model", "challenger", None, 2, datetime(2024, 2, 2), "run:d", "d", "trained ltv"),
    ("churn_model", "challenger", 2, 3, datetime(2024, 3, 1), "run:e", "e", "trained"),
]
_V1_ALIASES = [
    ("churn_model", "champion", 2, datetime(2024, 1, 15)),
    ("churn_model", "challenger", 3, datetime(2024, 3, 1)),
    ("ltv_model", "champion", 1, datetime(2024, 1, 2)),
    ("ltv_model", "challenger", 2, datetime(2024, 2, 2)),
]


def _schema_1_warehouse(conn, model_dir, models, aliases=(), moves=()):
    """Register ``models`` (names, one version each in turn) for real folders,
    then rebuild the registry tables in their schema 1 shape from those rows."""
    for i, name in enumerate(models):
        _register(conn, model_dir, f"{name} #{i}", model_name=name, run_id=f"run-{i}")
    conn.execute(f"CREATE TEMP TABLE saved_versions AS SELECT {_V1_VERSION_COLUMNS} FROM model_versions")
    conn.execute("DROP TABLE model_versions; DROP TABLE model_aliases; DROP TABLE alias_history")
    conn.execute(_SCHEMA_1)
    conn.execute("INSERT INTO model_versions BY NAME SELECT * FROM saved_versions")
    conn.execute("DROP TABLE saved_versions")
    if aliases:
        conn.executemany("INSERT INTO model_aliases VALUES (?, ?, ?, ?)", list(aliases))
    if moves:
        conn.executemany("INSERT INTO alias_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(moves))


def _table_shapes(conn):
    return {
        table: conn.execute(
            "SELECT list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
            "WHERE table_name = ?", [table],
        ).fetchone()[0]
        for table in ("model_versions", "model_aliases", "alias_history")
    }


def _dump(conn):
    return {
        "model_versions": conn.execute(
            f"SELECT {_V1_VERSION_COLUMNS} FROM model_versions ORDER BY model_name, version"
        ).fetchall(),
        "model_aliases": conn.execute("SELECT * FROM model_aliases ORDER BY model_name, alias").fetchall(),
        "alias_history": conn.execute("SELECT * FROM alias_history ORDER BY rowid").fetchall(),
    }


def test_schema_1_warehouse_is_migrated_keeping_every_row(conn, model_dir):
    models = ["churn_model", "ltv_model", "churn_model", "ltv_model", "churn_model"]
    _schema_1_warehouse(conn, model_dir, models, _V1_ALIASES, _V1_HISTORY)
    versions_before = _dump(conn)["model_versions"]
    assert len(versions_before) == 5 and "task" not in _table_shapes(conn)["model_aliases"]

    registry.ensure_tables(conn)

    assert _dump(conn)["model_versions"] == versions_before
    assert conn.execute(
        "SELECT model_name, version, task, family FROM model_versions ORDER BY model_name, version"
    ).fetchall() == [
        ("churn_model", 1, "churn", "lightgbm"), ("churn_model", 2, "churn", "lightgbm"),
        ("churn_model", 3, "churn", "lightgbm"), ("ltv_model", 1, "ltv", "lightgbm"),
        ("ltv_model", 2, "ltv", "lightgbm"),
    ]
    assert conn.execute(
        "SELECT task, alias, model_name, version, updated_at FROM model_aliases ORDER BY task, alias"
    ).fetchall() == [
        ("churn", "challenger", "churn_model", 3, datetime(2024, 3, 1)),
        ("churn", "champion", "churn_model", 2, datetime(2024, 1, 15)),
        ("ltv", "challenger", "ltv_model", 2, datetime(2024, 2, 2)),
        ("ltv", "champion", "ltv_model", 1, datetime(2024, 1, 2)),
    ]
    assert registry.resolve_alias(conn, "churn", "champion") == ("churn_model", 2)
    assert registry.resolve_alias(conn, "churn", "challenger") == ("churn_model", 3)
    assert registry.resolve_alias(conn, "ltv", "champion") == ("ltv_model", 1)
    assert registry.resolve_alias(conn, "ltv", "challenger") == ("ltv_model", 2)
    history = conn.execute(
        "SELECT task, alias, from_model, from_version, to_model, to_version, moved_at, moved_by, "
        "run_id, reason FROM alias_history ORDER BY rowid"
    ).fetchall()
    assert history == [
        (TASK_OF[name], alias, None if before is None else name, before, name, after, at, by, run, why)
        for name, alias, before, after, at, by, run, why in _V1_HISTORY
    ]
    assert list(registry.history(conn, "churn")["reason"]) == [
        "trained", "first", "trained", "better", "trained",
    ]
    row, folder = registry.load_alias(conn, "churn", "champion", model_dir)
    assert (row["model_name"], row["version"], row["task"]) == ("churn_model", 2, "churn")
    assert (folder / "model.txt").read_text() == "churn_model #2"
    _assert_consistent(conn)

    registry.ensure_tables(conn)  # migrated once: a second call changes nothing
    assert len(registry.history(conn)) == len(_V1_HISTORY)

    # After the migration the stack walk uses the migrated history (the clock
    # stepped back, the rowids did not) and the tasks stay apart.
    assert registry.rollback(conn, "churn", reason="after migration", moved_by="oncall") == {
        "from": ("churn_model", 2), "to": ("churn_model", 1),
    }
    assert registry.resolve_alias(conn, "ltv", "champion") == ("ltv_model", 1)
    with pytest.raises(registry.ModelNotFoundError, match="The ltv task has no earlier champion"):
        registry.rollback(conn, "ltv", reason="nothing before", moved_by="oncall")
    assert _register(conn, model_dir, "churn after", model_name="churn_model")["version"] == 4
    # migrated champions count for retention: v1 and v2 were champion, v3 is challenger
    assert registry.apply_retention(conn, model_dir, "churn_model", keep_candidates=0) == [4]


def test_migration_that_fails_midway_leaves_schema_1_unchanged(conn, model_dir, monkeypatch):
    _schema_1_warehouse(conn, model_dir, ["churn_model", "ltv_model"], _V1_ALIASES[::2], _V1_HISTORY[1:3])
    shapes, rows = _table_shapes(conn), _dump(conn)
    monkeypatch.setattr(registry_module, "_MIGRATED", (*registry_module._MIGRATED, "no_such_table"))
    with pytest.raises(duckdb.Error, match="no_such_table"):
        registry.ensure_tables(conn)
    assert not registry.in_transaction(conn)
    assert _table_shapes(conn) == shapes and _dump(conn) == rows
    monkeypatch.undo()
    registry.ensure_tables(conn)
    assert registry.resolve_alias(conn, "ltv", "champion") == ("ltv_model", 1)


def test_schema_1_warehouse_with_an_unknown_model_is_refused_and_left_unchanged(
    conn, model_dir, db_path, monkeypatch, capsys
):
    _schema_1_warehouse(
        conn, model_dir, ["churn_model", "propensity_model"],
        [("churn_model", "champion", 1, datetime(2024, 1, 1)),
         ("propensity_model", "champion", 1, datetime(2024, 1, 1))],
        [("churn_model", "champion", None, 1, datetime(2024, 1, 1), "p", "r", "first"),
         ("propensity_model", "champion", None, 1, datetime(2024, 1, 1), "p", "r", "first")],
    )
    shapes, rows = _table_shapes(conn), _dump(conn)

    with pytest.raises(registry.RegistryError, match=r"\['propensity_model'\].*delete those rows"):
        registry.ensure_tables(conn)
    with pytest.raises(registry.RegistryError, match="propensity_model"):
        _register(conn, model_dir, "new", model_name="churn_model")
    assert _table_shapes(conn) == shapes and _dump(conn) == rows
    assert _folders(model_dir) == {Path(rows["model_versions"][0][3]).name}  # no new folder left
    conn.close()

    monkeypatch.setenv("ML_ASSETS_WAREHOUSE", str(db_path))
    monkeypatch.setenv("ML_ASSETS_MODEL_DIR", str(model_dir))
    assert cli.main(["aliases"]) == 1
    assert "propensity_model" in capsys.readouterr().err
    again = duckdb.connect(str(db_path))
    assert _table_shapes(again) == shapes and _dump(again) == rows
    again.close()


# --- CLI -------------------------------------------------------------------------


@pytest.fixture
def cli_env(db_path, model_dir, monkeypatch):
    monkeypatch.setenv("ML_ASSETS_WAREHOUSE", str(db_path))
    monkeypatch.setenv("ML_ASSETS_MODEL_DIR", str(model_dir))


def test_cli_list_verify_and_rollback(db_path, model_dir, cli_env, capsys):
    conn = duckdb.connect(str(db_path))
    for content in ("a", "b"):
        _register(conn, model_dir, content)
    _promote(conn, 1, 2)
    tampered = registry.get_version(conn, MODEL, 1)
    conn.close()

    assert cli.main(["list", "--model", MODEL]) == 0
    out = capsys.readouterr().out
    assert re.search(r"churn\s+churn_model\s+1\s+lightgbm\s+active\s", out)
    assert re.search(r"churn\s+churn_model\s+2\s+lightgbm\s+active\s+churn:champion", out)

    assert cli.main(["verify", "--task", "churn", "--alias", "champion"]) == 0
    assert "ok: churn_model v2" in capsys.readouterr().out
    assert cli.main(["verify", "--model", MODEL, "--alias", "champion"]) == 1
    assert "--alias needs --task" in capsys.readouterr().err

    assert cli.main(["rollback", "--task", "churn", "--reason", "bad scores", "--by", "alice"]) == 0
    out = capsys.readouterr().out
    assert "churn champion: churn_model v2 -> churn_model v1 (by alice: bad scores)" in out

    (Path(tampered["artifact_path"]) / "model.txt").write_text("evil")
    assert cli.main(["verify", "--model", MODEL, "--version", "1"]) == 1
    err = capsys.readouterr().err
    assert tampered["sha256"] in err and "do not match" in err
    assert cli.main(["verify", "--task", "churn", "--alias", "champion"]) == 1
    assert "do not match" in capsys.readouterr().err

    assert cli.main(["history", "--model", MODEL]) == 0
    assert "rollback: bad scores" in capsys.readouterr().out
    conn = duckdb.connect(str(db_path))
    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 1)
    assert registry.history(conn, "churn").iloc[-1]["moved_by"] == "alice"
    conn.close()


def test_cli_rollback_to_a_baseline_of_the_task(db_path, model_dir, cli_env, capsys):
    conn = duckdb.connect(str(db_path))
    _register(conn, model_dir, model_name=BASELINE)
    _register(conn, model_dir)
    _register(conn, model_dir, model_name="ltv_model")
    _promote(conn, (MODEL, 1), ("ltv_model", 1))
    conn.close()

    assert cli.main(
        ["rollback", "--task", "churn", "--to", "bg_nbd_churn:1", "--reason", "drift", "--by", "bob"]
    ) == 0
    assert "churn champion: churn_model v1 -> bg_nbd_churn v1 (by bob: drift)" in capsys.readouterr().out
    assert cli.main(["verify", "--task", "churn", "--alias", "champion"]) == 0
    assert "ok: bg_nbd_churn v1" in capsys.readouterr().out
    assert cli.main(["aliases"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"churn\s+champion\s+bg_nbd_churn\s+1", out)
    assert re.search(r"ltv\s+champion\s+ltv_model\s+1", out)
    assert cli.main(["history", "--task", "ltv"]) == 0
    out = capsys.readouterr().out
    assert "ltv_model" in out and "bg_nbd_churn" not in out

    assert cli.main(["rollback", "--task", "churn", "--to", "ltv_model:1", "--reason", "x"]) == 1
    assert "is a ltv model" in capsys.readouterr().err
    conn = duckdb.connect(str(db_path))
    assert registry.resolve_alias(conn, "churn", "champion") == (BASELINE, 1)
    assert registry.resolve_alias(conn, "ltv", "champion") == ("ltv_model", 1)
    assert registry.history(conn, "churn").iloc[-1]["to_model"] == BASELINE
    conn.close()


@pytest.mark.parametrize("target", ["bg_nbd_churn", "bg_nbd_churn:one", "bg_nbd_churn:", "1", ":1"])
def test_cli_rollback_refuses_a_malformed_target(db_path, model_dir, cli_env, capsys, target):
    conn = duckdb.connect(str(db_path))
    _register(conn, model_dir, model_name=BASELINE)
    _register(conn, model_dir)
    _promote(conn, (BASELINE, 1), (MODEL, 1))
    conn.close()

    assert cli.main(["rollback", "--task", "churn", "--to", target, "--reason", "x"]) == 1
    err = capsys.readouterr().err
    assert f"--to {target!r}: give the model and version as MODEL:V" in err
    conn = duckdb.connect(str(db_path))
    assert registry.resolve_alias(conn, "churn", "champion") == (MODEL, 1)
    assert len(registry.history(conn)) == 2
    conn.close()


def test_cli_reports_a_missing_warehouse(cli_env, capsys):
    assert cli.main(["aliases"]) == 1
    assert "ML_ASSETS_WAREHOUSE" in capsys.readouterr().err
