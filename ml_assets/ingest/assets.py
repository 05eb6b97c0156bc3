"""The transaction log loaded from a CSV or Parquet file into the warehouse.

One pass reads every column as text, maps the file's columns onto the canonical
``customer_id, order_ts, amount, order_id, quantity``, parses and validates
them in SQL, and writes the clean rows to ``transactions`` and every other
input row, with one reason, to ``rejected_transactions``. Both tables and a
row of ``ingest_log`` are replaced in one transaction: a load that fails
leaves the previous load in place.
"""

import gzip
import hashlib
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml_assets.lib.columns import CANONICAL, EXAMPLE_MAP, REQUIRED, parse_column_map
from ml_assets.lib.warehouse import atomic, connect, read_sql
from ml_assets.partitions import SINGLE_RUN
from ml_assets.settings import Settings, env_var

# Why a row is rejected. A row gets the first reason it fails, in this order,
# except that in 'lines' mode an order's total is held against max_amount last.
REASONS = (
    "malformed_line",  # a CSV line that does not split into the header's fields
    "missing_customer_id",  # blank after trimming
    "bad_timestamp",  # not ISO 8601 (or not timestamp_format)
    "implausible_timestamp",  # before earliest_order_date: a null sentinel such as 0001-01-01
    "bad_amount",  # not a number, NaN or infinite
    "bad_quantity",  # quantity present but not a finite number
    "future_timestamp",  # after load time + future_tolerance_days
    "implausible_amount",  # |amount| (or a 'lines' order's total) above max_amount
    "duplicate_row",  # an exact copy of an earlier row
    "duplicate_order_id",  # 'unique' mode: a later, different row reusing an order id
    "conflicting_order_lines",  # 'lines' mode: one order id, several customers
)

_CHUNK = 1 << 20
_STAGING = (
    "ingest_file", "ingest_mapped", "ingest_verdicts", "ingest_orders", "ingest_malformed",
    "ingest_reject_errors", "ingest_reject_scans",
)
_EXAMPLES_PER_REASON = 3


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "raw_transactions",
            kinds={"duckdb"},
            code_version="2",
            description="The clean transaction log, one row per order: customer_id, order_ts "
            "(naive UTC), amount (negative for refunds), order_id, quantity, source_row (the "
            "row's position in the file after the header). Table transactions; every load is "
            "fingerprinted in ingest_log.",
        ),
        dg.AssetSpec(
            "rejected_transactions",
            kinds={"duckdb"},
            code_version="2",
            description="Input rows set aside by the last load, each with one reason "
            "(malformed_line, missing_customer_id, bad_timestamp, implausible_timestamp, "
            "bad_amount, bad_quantity, "
            "future_timestamp, implausible_amount, duplicate_row, duplicate_order_id, "
            "conflicting_order_lines) and its original text. Table rejected_transactions.",
        ),
    ],
    backfill_policy=SINGLE_RUN,
    # Either key may be selected alone (the CLI's --select raw_transactions); one
    # load always writes both tables, so both are reported either way.
    can_subset=True,
    pool="warehouse",
)
def transaction_log(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
):
    """Load the transaction log file and set aside the rows that fail validation."""
    path = source_path(settings)
    with connect(warehouse) as conn:
        load = load_transactions(conn, path, settings)
        if load["encoding"] == "latin-1":
            context.log.warning(
                f"{path} is not valid UTF-8; read it as {load['encoding']}. Re-save it as "
                "UTF-8 if its text columns look wrong."
            )
        selected = {key.to_user_string() for key in context.selected_asset_keys}
        yield _report("raw_transactions", selected, _transactions_metadata(conn, load))
        yield _report("rejected_transactions", selected, _rejected_metadata(conn, load))


def _report(key: str, selected: set[str], metadata: dict):
    """The output of a selected key; for the other key, which the same load
    rewrote, a materialization event so its history stays true."""
    if key in selected:
        return dg.MaterializeResult(asset_key=key, metadata=metadata)
    return dg.AssetMaterialization(
        asset_key=key,
        description="Rewritten by the same load as the selected ingest table.",
        metadata=metadata,
    )


def source_path(settings: Settings) -> Path:
    """The file to ingest, writing the bundled sample first when none is configured."""
    path = settings.transactions_path()
    if settings.uses_sample():
        from ml_assets.ingest.sample_data import ensure_sample

        ensure_sample(path)
    if not path.is_file():
        raise dg.Failure(
            f"Transaction log {path} is not a file (resolved to {path.resolve()}). Set "
            f"{env_var('transactions')} to a CSV or Parquet file, or unset it to use the sample."
        )
    return path


def load_transactions(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    settings: Settings,
    now: datetime | None = None,
) -> dict:
    """Validate ``path`` and replace ``transactions`` and ``rejected_transactions``.

    ``now`` (naive UTC, default the current time) is the load time that future
    timestamps are judged against. Returns the load's summary: ``source_path,
    source_sha256, source_bytes, encoding, rows_in, rows_kept, rows_rejected,
    lines_merged, repeated_rows, refunds, customers, min_order_ts, max_order_ts,
    rejected_by_reason`` (a dict over all reasons) and ``columns`` (canonical ->
    file expression).
    """
    _validate_settings(conn, settings)
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    sha256, size = file_fingerprint(path)
    try:
        encoding = _stage_file(conn, path)
        header = [d[0] for d in conn.execute("SELECT * FROM ingest_file LIMIT 0").description]
        parsed = conn.execute("SELECT count(*) FROM ingest_file").fetchone()[0]
        if parsed == 0 and not _malformed(conn):
            raise dg.Failure(
                f"Transaction log {path} has no data rows (it is empty or holds only a header). "
                f"Point {env_var('transactions')} at a file with transactions."
            )
        columns = resolve_columns(parse_column_map(settings.column_map), header, path)
        if settings.order_id_mode == "lines" and "order_id" not in columns:
            raise dg.Failure(
                f"{env_var('order_id_mode')}=lines sums order lines by order id, but {path} has no "
                f"order_id column (columns: {', '.join(header)}). Map one in "
                f"{env_var('column_map')} (e.g. order_id=Invoice) or use order_id_mode=unique."
            )
        _stage_verdicts(conn, columns, settings, now)
        summary = _write(conn, path, sha256, size, now)
        summary.update(encoding=encoding, columns=_describe_columns(columns))
        return summary
    finally:
        _drop_staging(conn)


def file_fingerprint(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size in bytes of the file, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def resolve_columns(
    mapping: dict[str, tuple[str, ...]], header: list[str], path: Path
) -> dict[str, tuple[str, ...]]:
    """Match the mapped names to the file's header (exactly, else ignoring case when
    that is unambiguous). Fails on a required or explicitly mapped column that the
    file lacks; returns canonical -> header names for the columns found."""
    resolved, missing = {}, []
    for key in CANONICAL:
        names = mapping.get(key, (key,))
        found = [_match(name, header) for name in names]
        if all(found):
            resolved[key] = tuple(found)
        elif key in REQUIRED or key in mapping:
            missing.append(f"{key} (looked for {' * '.join(names)})")
    if missing:
        raise dg.Failure(
            f"Transaction log {path} has no column for {'; '.join(missing)}. Its columns are: "
            f"{', '.join(header)}. Set {env_var('column_map')} to map them, e.g. {EXAMPLE_MAP}."
        )
    return resolved


def _match(name: str, header: list[str]) -> str | None:
    if name in header:
        return name
    folded = [h for h in header if h.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def _validate_settings(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    problems = []
    # choices, bounds and dates are validated when the settings are read
    if settings.timestamp_format:
        try:
            conn.execute("SELECT try_strptime('2000-01-01', ?)", [settings.timestamp_format])
        except duckdb.Error as error:
            problems.append(
                f"{env_var('timestamp_format')}={settings.timestamp_format!r} is not a strptime "
                f"format DuckDB accepts ({error})"
            )
    if problems:
        raise dg.Failure("Invalid ingest settings: " + "; ".join(problems) + ".")


def _earliest_order_date(settings: Settings) -> datetime:
    """Midnight UTC of ``earliest_order_date`` (validated when the settings were read)."""
    return datetime.combine(date.fromisoformat(settings.earliest_order_date), time())


# --- reading the file ------------------------------------------------------------


def _stage_file(conn: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Read ``path`` into temp tables ingest_file (all text) and ingest_malformed;
    return the text encoding used."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        try:
            conn.execute(read_sql(__file__, "read_parquet.sql"), {"path": str(path)})
        except duckdb.Error as error:
            raise dg.Failure(
                f"DuckDB could not read {path} as Parquet: {_one_line(error)}. Check the file, or point "
                f"{env_var('transactions')} at another file."
            ) from error
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE ingest_malformed "
            "(source_row BIGINT, errors VARCHAR, raw_line VARCHAR)"
        )
        return "parquet"
    if not name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        raise dg.Failure(
            f"Cannot read {path}: the transaction log must be .csv, .csv.gz, .tsv, .tsv.gz or "
            f".parquet. Convert it, or point {env_var('transactions')} at such a file."
        )
    encoding = "utf-16" if _has_utf16_bom(path) else "utf-8"
    if not _read_csv(conn, path, encoding) and encoding == "utf-8":
        # Not UTF-8. Latin-1 maps every byte to one character, so ids and numbers
        # survive exactly and no line is lost; only accented text may look wrong.
        encoding = "latin-1"
        _read_csv(conn, path, encoding)
    conn.execute(read_sql(__file__, "malformed_lines.sql"))
    return encoding


def _read_csv(conn: duckdb.DuckDBPyConnection, path: Path, encoding: str) -> bool:
    """Read the CSV; False when it turned out not to be in ``encoding``."""
    conn.execute("DROP TABLE IF EXISTS ingest_reject_errors")
    conn.execute("DROP TABLE IF EXISTS ingest_reject_scans")
    try:
        conn.execute(read_sql(__file__, "read_csv.sql"), {"path": str(path), "encoding": encoding})
    except duckdb.Error as error:
        if "not utf-8 encoded" in str(error).lower():
            return False
        raise dg.Failure(
            f"DuckDB could not read {path} as CSV: {_one_line(error)}. Check that it is a delimited text "
            f"file with a header row, or point {env_var('transactions')} at another file."
        ) from error
    bad_encoding = conn.execute(
        "SELECT count(*) FROM ingest_reject_errors WHERE error_type = 'INVALID ENCODING'"
    ).fetchone()[0]
    return bad_encoding == 0


def _has_utf16_bom(path: Path) -> bool:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        return handle.read(2) in (b"\xff\xfe", b"\xfe\xff")


def _malformed(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute("SELECT count(*) FROM ingest_malformed").fetchone()[0]


# --- validating and writing -----------------------------------------------------


def _stage_verdicts(
    conn: duckdb.DuckDBPyConnection,
    columns: dict[str, tuple[str, ...]],
    settings: Settings,
    now: datetime,
) -> None:
    """Temp tables ingest_mapped, ingest_verdicts (one reason or NULL per parsed
    row) and ingest_orders (the kept rows, order lines merged)."""
    amount = columns["amount"]
    slots = {
        "customer_id": _quote(columns["customer_id"][0]),
        "order_ts": _quote(columns["order_ts"][0]),
        "amount_a": _quote(amount[0]),
        "amount_b": _quote(amount[1]) if len(amount) == 2 else "NULL::VARCHAR",
        "order_id": _quote(columns["order_id"][0]) if "order_id" in columns else "NULL::VARCHAR",
        "quantity": _quote(columns["quantity"][0]) if "quantity" in columns else "NULL::VARCHAR",
    }
    conn.execute(read_sql(__file__, "mapped_rows.sql").format(**slots))
    conn.execute("DROP TABLE ingest_file")  # everything needed is in ingest_mapped now
    zone = conn.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    conn.execute("SET TimeZone = 'UTC'")
    try:
        shift_join = (
            "ASOF LEFT JOIN shifts AS s ON m.ordinal > s.gap"
            if _malformed(conn)
            else "LEFT JOIN shifts AS s ON false"
        )
        conn.execute(
            read_sql(__file__, "row_verdicts.sql").format(shift_join=shift_join),
            {
                "amount_is_product": len(amount) == 2,
                "iso": not settings.timestamp_format,
                "ts_format": settings.timestamp_format or "%Y-%m-%d",
                "earliest": _earliest_order_date(settings),
                "future_limit": now + timedelta(days=settings.future_tolerance_days),
                "max_amount": settings.max_amount,
                "keep_duplicates": settings.duplicate_rows == "keep",
            },
        )
    finally:
        conn.execute("SET TimeZone = ?", [zone])
    if settings.order_id_mode == "lines":
        conn.execute(read_sql(__file__, "order_rules_lines.sql"))
        conn.execute(read_sql(__file__, "order_totals.sql"), {"max_amount": settings.max_amount})
        conn.execute(read_sql(__file__, "orders_lines.sql"))
    else:
        conn.execute(read_sql(__file__, "order_rules_unique.sql"))
        conn.execute(read_sql(__file__, "orders_unique.sql"))


def _drop_staging(conn: duckdb.DuckDBPyConnection) -> None:
    """Free the load's temp tables (they hold the whole file)."""
    staged = conn.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = 'temp' AND list_contains(?, table_name)",
        [list(_STAGING)],
    ).fetchall()
    for name, kind in staged:  # names from _STAGING only
        conn.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _write(
    conn: duckdb.DuckDBPyConnection, path: Path, sha256: str, size: int, now: datetime
) -> dict:
    """Replace the public tables and log the load, all in one transaction."""
    with atomic(conn):
        conn.execute(read_sql(__file__, "create_tables.sql"))
        conn.execute(read_sql(__file__, "write_tables.sql"))
        summary = _fetch_dict(conn, read_sql(__file__, "summary.sql"))
        _check_invariant(summary, path)
        conn.execute(
            read_sql(__file__, "insert_log.sql"),
            {
                "loaded_at": now,
                "source_path": str(path.resolve()),
                "source_sha256": sha256,
                "source_bytes": size,
                **{k: summary[k] for k in (
                    "rows_in", "rows_kept", "rows_rejected", "min_order_ts", "max_order_ts",
                    "customers",
                )},
            },
        )
        reasons = dict(conn.execute(
            "SELECT reason, count(*) FROM rejected_transactions GROUP BY reason"
        ).fetchall())
    summary.pop("distinct_source_rows")
    summary.update(
        source_path=str(path.resolve()),
        source_sha256=sha256,
        source_bytes=size,
        rejected_by_reason={reason: int(reasons.get(reason, 0)) for reason in REASONS},
    )
    return summary


def _check_invariant(summary: dict, path: Path) -> None:
    rows_in, kept, rejected, merged = (
        summary[k] for k in ("rows_in", "rows_kept", "rows_rejected", "lines_merged")
    )
    if rows_in != kept + rejected + merged or summary["distinct_source_rows"] != rows_in:
        raise dg.Failure(
            f"Ingest bookkeeping is broken for {path}: rows in {rows_in} != kept {kept} + "
            f"rejected {rejected} + lines merged {merged}, or {summary['distinct_source_rows']} "
            "distinct source rows. Nothing was written; please report this as a bug."
        )


def _fetch_dict(conn: duckdb.DuckDBPyConnection, sql: str, params=None) -> dict:
    cursor = conn.execute(sql, params or {})
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


def _describe_columns(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {key: " * ".join(names) for key, names in columns.items()}


# --- metadata -----------------------------------------------------------------


def _transactions_metadata(conn: duckdb.DuckDBPyConnection, load: dict) -> dict:
    from ml_assets.lib.tables import markdown_table

    kept = load["rows_kept"]
    preview = conn.execute("SELECT * FROM transactions LIMIT 5").df()
    return {
        "dagster/row_count": kept,
        "source_path": dg.MetadataValue.path(load["source_path"]),
        "source_sha256": load["source_sha256"],
        "source_bytes": load["source_bytes"],
        "encoding": load["encoding"],
        "columns": dg.MetadataValue.json(load["columns"]),
        "rows_in": load["rows_in"],
        "rows_kept": kept,
        "rows_rejected": load["rows_rejected"],
        "lines_merged": load["lines_merged"],
        "exact_repeated_rows": load["repeated_rows"],
        "rejected_by_reason": dg.MetadataValue.md(markdown_table(_reason_frame(load))),
        "min_order_ts": str(load["min_order_ts"]),
        "max_order_ts": str(load["max_order_ts"]),
        "customers": load["customers"],
        "refunds": load["refunds"],
        "refund_share": load["refunds"] / kept if kept else 0.0,
        "preview": dg.MetadataValue.md(markdown_table(preview, floatfmt=".2f")),
    }


def _rejected_metadata(conn: duckdb.DuckDBPyConnection, load: dict) -> dict:
    from ml_assets.lib.tables import markdown_table

    examples = conn.execute(
        read_sql(__file__, "rejected_examples.sql"), {"per_reason": _EXAMPLES_PER_REASON}
    ).df()
    return {
        "dagster/row_count": load["rows_rejected"],
        "rejected_share": load["rows_rejected"] / load["rows_in"],
        "rows_by_reason": dg.MetadataValue.md(markdown_table(_reason_frame(load))),
        "examples": dg.MetadataValue.md(markdown_table(examples)),
    }


def _reason_frame(load: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [(r, n) for r, n in load["rejected_by_reason"].items()], columns=["reason", "rows"]
    )


def _one_line(error: Exception) -> str:
    """DuckDB's message without its multi-line SQL excerpt."""
    return str(error).splitlines()[0].strip()
