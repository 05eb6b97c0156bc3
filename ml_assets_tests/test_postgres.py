"""The production instance: deploy/dagster.yaml against a real PostgreSQL server.

The test starts a throwaway cluster (initdb + pg_ctl on a temporary folder and
a free localhost port, as the ``postgres`` user when run as root), loads the
documented instance file with the connection from environment variables, runs
ingest -> snapshots (with their checks) against it, and reads runs,
materializations and check results back from PostgreSQL itself.

.ci/run installs PostgreSQL from Debian's packages. Where the server binaries
or the dagster-postgres package are missing, or the server cannot start, the
test is skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest
import yaml

from ml_assets.ingest import assets as ingest_assets
from ml_assets.ingest import checks as ingest_checks
from ml_assets.snapshots import assets as snapshot_assets
from ml_assets.snapshots import checks as snapshot_checks
from ml_assets_tests.conftest import resources_for, settings_in
from ml_assets_tests.factories import random_transactions

PROJECT = Path(__file__).resolve().parents[1]
INSTANCE_FILE = PROJECT / "deploy" / "dagster.yaml"
RANGE = {
    "dagster/asset_partition_range_start": "2022-01-01",
    "dagster/asset_partition_range_end": "2022-06-01",
}
CUTOFFS = 6


def _server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's versioned folder."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for folder in reversed(folders):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def postgres():
    """A running throwaway PostgreSQL: yields host, port, user, password, db."""
    pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed (pip install -e '.[dev]')")
    psycopg2 = pytest.importorskip("psycopg2")
    binaries = _server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian "
                    "package postgresql (as root: apt-get update && apt-get install -y postgresql)")
    run_as = {}
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    root = Path(tempfile.mkdtemp(prefix="ml-assets-pg-"))
    data, log = root / "data", root / "server.log"
    password = secrets.token_urlsafe(16)
    (root / "pw").write_text(password)
    if run_as:
        os.chown(root, run_as["user"], run_as["group"])
        os.chown(root / "pw", run_as["user"], run_as["group"])
    port = _free_port()

    def run(*args, check=True):
        return subprocess.run(
            [str(binaries / args[0]), *args[1:]], capture_output=True, text=True, timeout=60,
            check=check, **run_as,
        )

    started = False
    try:
        done = run("initdb", "-D", str(data), "-U", "dagster", f"--pwfile={root / 'pw'}",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
                   check=False)
        if done.returncode != 0:
            pytest.skip(f"initdb failed, cannot start PostgreSQL: {done.stderr.strip()[-500:]}")
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        done = run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "30", "-o", options,
                   "start", check=False)
        if done.returncode != 0:
            reason = log.read_text()[-500:] if log.exists() else done.stderr
            pytest.skip(f"PostgreSQL did not start: {reason.strip()}")
        started = True
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="dagster", password=password,
                                dbname="postgres")
        conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
        conn.cursor().execute("CREATE DATABASE dagster")
        conn.close()
        yield {"host": "127.0.0.1", "port": port, "user": "dagster", "password": password,
               "db": "dagster"}
    finally:
        if started:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_instance_file_takes_every_connection_setting_from_the_environment():
    config = yaml.safe_load(INSTANCE_FILE.read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert {key: db[key] for key in ("hostname", "port", "db_name", "username", "password")} == {
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "port": {"env": "DAGSTER_PG_PORT"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "username": {"env": "DAGSTER_PG_USERNAME"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
    }
    project = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"] == project["concurrency"]["pools"]


def test_chain_runs_are_recorded_in_postgres(postgres, tmp_path, monkeypatch):
    import psycopg2

    for variable, key in [("DAGSTER_PG_HOST", "host"), ("DAGSTER_PG_PORT", "port"),
                          ("DAGSTER_PG_DB", "db"), ("DAGSTER_PG_USERNAME", "user"),
                          ("DAGSTER_PG_PASSWORD", "password")]:
        monkeypatch.setenv(variable, str(postgres[key]))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_FILE, home / "dagster.yaml")

    transactions = random_transactions(n_customers=120, seed=7)
    transactions.drop(columns="source_row").to_csv(tmp_path / "tx.csv", index=False)
    settings = settings_in(tmp_path, transactions=str(tmp_path / "tx.csv"))
    assets = [ingest_assets.transaction_log, snapshot_assets.snapshots]
    checks = [*dg.load_asset_checks_from_modules([ingest_checks, snapshot_checks])]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        result = dg.materialize(
            [*assets, *checks], instance=instance, tags=RANGE,
            resources=resources_for(settings),
        )
        assert result.success
        run_id = result.run_id
        materialized = len(result.get_asset_materialization_events())
        # the warehouse pool was enforced through Postgres, and released
        pool = instance.event_log_storage.get_concurrency_info("warehouse")
        assert pool.slot_count == 1 and pool.claimed_slots == [] and pool.pending_steps == []

    assert materialized == 2 + 2 * CUTOFFS  # two ingest tables, two snapshot assets per cutoff
    with psycopg2.connect(host=postgres["host"], port=postgres["port"], user=postgres["user"],
                          password=postgres["password"], dbname=postgres["db"]) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", [run_id])
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute(
            "SELECT asset_key, count(*) FROM event_logs WHERE run_id = %s AND "
            "dagster_event_type = 'ASSET_MATERIALIZATION' GROUP BY asset_key ORDER BY asset_key",
            [run_id],
        )
        assert cursor.fetchall() == [
            ('["customer_features"]', CUTOFFS),
            ('["raw_transactions"]', 1),
            ('["rejected_transactions"]', 1),
            ('["training_snapshots"]', CUTOFFS),
        ]
        cursor.execute(
            "SELECT check_name, execution_status FROM asset_check_executions WHERE run_id = %s "
            "ORDER BY check_name", [run_id],
        )
        statuses = cursor.fetchall()
        assert len(statuses) == 6 and {s for _, s in statuses} == {"SUCCEEDED"}
        cursor.execute('SELECT concurrency_key, "limit" FROM concurrency_limits')
        assert cursor.fetchall() == [("warehouse", 1)]
        cursor.execute("SELECT count(*) FROM concurrency_slots WHERE concurrency_key = 'warehouse' "
                       "AND NOT deleted AND run_id IS NOT NULL")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT count(*) FROM event_logs WHERE event LIKE %s",
                       ["%" + postgres["password"] + "%"])
        assert cursor.fetchone() == (0,)  # the password never reaches the event log

    # a second process (here: a fresh instance) sees the same history
    with dg.DagsterInstance.from_config(str(home)) as again:
        record = again.get_run_record_by_id(run_id)
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        latest = again.fetch_materializations(dg.AssetKey("raw_transactions"), limit=5).records
        assert [r.run_id for r in latest] == [run_id]
        rows_in = latest[0].asset_materialization.metadata["rows_in"].value
    assert rows_in == len(transactions)
