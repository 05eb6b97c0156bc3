"""The model registry: versions, verified folders, aliases, rollback, retention,
crash safety (injected failures and a real SIGKILL) and the CLI."""

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
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ml_assets import registry
from ml_assets.registry import __main__ as cli
from ml_assets.registry import registry as registry_module

MODEL = "churn_model"


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


def _promote(conn, *versions):
    for version in versions:
        with registry.atomic(conn):
            registry.set_alias(conn, MODEL, "champion", version, reason=f"promote v{version}", moved_by="test")


def _folders(model_dir, model_name=MODEL) -> set[str]:
    home = model_dir / model_name
    return {p.name for p in home.iterdir() if p.is_dir()} if home.exists() else set()


def _assert_consistent(conn):
    """Every live row points at a folder whose digest verifies."""
    for row in registry.list_versions(conn).itertuples():
        if row.status == "active":
            registry.load_verified(conn, row.model_name, version=row.version)


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


def test_versions_are_numbered_per_model(conn, model_dir):
    _register(conn, model_dir)
    _register(conn, model_dir)
    ltv = _register(conn, model_dir, model_name="ltv_model")
    assert ltv["version"] == 1


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
    assert not model_dir.exists()
    assert conn.execute("SELECT count(*) FROM model_versions").fetchone()[0] == 0


def test_empty_artifact_is_refused(conn, model_dir):
    with pytest.raises(ValueError, match="holds no files"):
        registry.register_version(
            conn, model_dir, MODEL, lambda folder: None,
            training_cutoffs=[], holdout_cutoff=None, features=[], hyperparameters={},
            metrics={}, data_fingerprint="fp", run_id=None,
        )
    assert _folders(model_dir) == set()


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


def test_unknown_version_and_unset_alias_are_refused(conn, model_dir):
    _register(conn, model_dir)
    with pytest.raises(registry.ModelNotFoundError, match="v7 is not registered"):
        registry.load_verified(conn, MODEL, version=7)
    with pytest.raises(registry.ModelNotFoundError, match="alias 'champion'"):
        registry.load_verified(conn, MODEL, alias="champion")
    with pytest.raises(TypeError, match="exactly one"):
        registry.load_verified(conn, MODEL, version=1, alias="champion")
    row, folder = registry.load_verified(conn, MODEL, version=1)
    assert folder == Path(row["artifact_path"]) and row["version"] == 1


# --- aliases and rollback ------------------------------------------------------


def test_aliases_and_history_are_recorded(conn, model_dir):
    _register(conn, model_dir, "a")
    _register(conn, model_dir, "b")
    assert registry.resolve_alias(conn, MODEL, "champion") is None
    with registry.atomic(conn):
        registry.set_alias(conn, MODEL, "challenger", 1, reason="trained", moved_by="run:1", run_id="r1")
        registry.set_alias(conn, MODEL, "champion", 1, reason="first", moved_by="promotion:1", run_id="r1")
    with registry.atomic(conn):
        registry.set_alias(conn, MODEL, "challenger", 2, reason="trained", moved_by="run:2")

    assert registry.resolve_alias(conn, MODEL, "champion") == 1
    assert registry.resolve_alias(conn, MODEL, "challenger") == 2
    row, _ = registry.load_verified(conn, MODEL, alias="challenger")
    assert row["version"] == 2
    moves = conn.execute(
        "SELECT alias, from_version, to_version, moved_by, run_id FROM alias_history ORDER BY rowid"
    ).fetchall()
    assert moves == [
        ("challenger", None, 1, "run:1", "r1"),
        ("champion", None, 1, "promotion:1", "r1"),
        ("challenger", 1, 2, "run:2", None),
    ]
    assert list(registry.history(conn, MODEL)["reason"]) == ["trained", "first", "trained"]
    aliases = registry.list_aliases(conn)
    assert dict(zip(aliases["alias"], aliases["version"])) == {"challenger": 2, "champion": 1}
    assert list(registry.list_versions(conn, MODEL)["aliases"]) == ["champion", "challenger"]


def test_set_alias_refuses_bad_targets(conn, model_dir):
    row = _register(conn, model_dir)
    with pytest.raises(ValueError, match="Unknown alias"):
        registry.set_alias(conn, MODEL, "champoin", 1, reason="typo", moved_by="me")
    with pytest.raises(registry.ModelNotFoundError):
        registry.set_alias(conn, MODEL, "champion", 5, reason="no such", moved_by="me")
    (Path(row["artifact_path"]) / "model.txt").write_text("swapped")
    with pytest.raises(registry.ArtifactVerificationError):
        registry.set_alias(conn, MODEL, "champion", 1, reason="tampered", moved_by="me")
    assert registry.resolve_alias(conn, MODEL, "champion") is None
    assert registry.history(conn).empty


def test_rollback_returns_to_previous_champion_and_walks_back(conn, model_dir):
    for content in ("a", "b", "c"):
        _register(conn, model_dir, content)
    _promote(conn, 1, 2, 3)

    moved = registry.rollback(conn, MODEL, reason="v3 misbehaves", moved_by="oncall")
    assert moved == {"from_version": 3, "to_version": 2}
    assert registry.resolve_alias(conn, MODEL, "champion") == 2
    last = registry.history(conn, MODEL).iloc[-1]
    assert (last["from_version"], last["to_version"], last["moved_by"]) == (3, 2, "oncall")
    assert last["reason"] == "rollback: v3 misbehaves"

    # A second rollback goes further back rather than returning to v3.
    assert registry.rollback(conn, MODEL, reason="v2 too", moved_by="oncall") == {"from_version": 2, "to_version": 1}
    with pytest.raises(registry.ModelNotFoundError, match="no earlier champion"):
        registry.rollback(conn, MODEL, reason="again", moved_by="oncall")
    assert registry.rollback(conn, MODEL, to_version=3, reason="fixed upstream", moved_by="oncall") == {
        "from_version": 1, "to_version": 3,
    }
    assert len(registry.history(conn, MODEL)) == 6


def test_rollback_refuses_archived_unverifiable_and_current_versions(conn, model_dir):
    for content in ("a", "b", "c", "d"):
        _register(conn, model_dir, content)
    _promote(conn, 3, 4)
    assert registry.apply_retention(conn, model_dir, MODEL, keep_candidates=1) == [1, 2]
    before = len(registry.history(conn))

    with pytest.raises(registry.ModelNotFoundError, match="archived"):
        registry.rollback(conn, MODEL, to_version=1, reason="try", moved_by="oncall")
    with pytest.raises(registry.RegistryError, match="already the champion"):
        registry.rollback(conn, MODEL, to_version=4, reason="try", moved_by="oncall")
    row = registry.get_version(conn, MODEL, 3)
    (Path(row["artifact_path"]) / "model.txt").write_text("corrupt")
    with pytest.raises(registry.ArtifactVerificationError, match=row["sha256"]):
        registry.rollback(conn, MODEL, reason="try", moved_by="oncall")

    assert registry.resolve_alias(conn, MODEL, "champion") == 4
    assert len(registry.history(conn)) == before


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
            registry.set_alias(conn, MODEL, "champion", 1, reason="promote", moved_by="test")
            raise RuntimeError("decision insert failed")
    assert registry.resolve_alias(conn, MODEL, "champion") is None
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
            conn, model_dir, MODEL, write_files, training_cutoffs=["2023-01-01"],
            holdout_cutoff="2023-06-01", features=[], hyperparameters={}, metrics={},
            data_fingerprint="fp", run_id="r",
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
        conn, model_dir, "churn_model", write_files, training_cutoffs=["2023-01-01"],
        holdout_cutoff="2023-06-01", features=["f"], hyperparameters={}, metrics={},
        data_fingerprint="fp", run_id="doomed",
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
    _assert_consistent(conn)


# --- retention -------------------------------------------------------------------


def test_retention_keeps_aliases_ever_champions_and_newest(conn, model_dir):
    for i in range(1, 9):
        _register(conn, model_dir, f"tree {i}")
    _promote(conn, 2, 4)  # v2 was champion, v4 is
    with registry.atomic(conn):
        registry.set_alias(conn, MODEL, "challenger", 6, reason="candidate", moved_by="test")
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


def test_retention_refuses_an_open_transaction(conn, model_dir):
    _register(conn, model_dir)
    with pytest.raises(registry.RegistryError, match="apply_retention"):
        with registry.atomic(conn):
            registry.apply_retention(conn, model_dir, MODEL, keep_candidates=0)
    assert registry.get_version(conn, MODEL, 1)["status"] == "active"


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
    assert re.search(r"churn_model\s+1\s+active", out) and re.search(r"churn_model\s+2\s+active\s+champion", out)

    assert cli.main(["verify", "--model", MODEL, "--alias", "champion"]) == 0
    assert "ok: churn_model v2" in capsys.readouterr().out

    assert cli.main(["rollback", "--model", MODEL, "--reason", "bad scores", "--by", "alice"]) == 0
    assert "churn_model champion: v2 -> v1" in capsys.readouterr().out

    (Path(tampered["artifact_path"]) / "model.txt").write_text("evil")
    assert cli.main(["verify", "--model", MODEL, "--version", "1"]) == 1
    err = capsys.readouterr().err
    assert tampered["sha256"] in err and "do not match" in err

    assert cli.main(["history", "--model", MODEL]) == 0
    assert "rollback: bad scores" in capsys.readouterr().out
    conn = duckdb.connect(str(db_path))
    assert registry.resolve_alias(conn, MODEL, "champion") == 1
    assert registry.history(conn, MODEL).iloc[-1]["moved_by"] == "alice"
    conn.close()


def test_cli_reports_a_missing_warehouse(cli_env, capsys):
    assert cli.main(["aliases"]) == 1
    assert "ML_ASSETS_WAREHOUSE" in capsys.readouterr().err
