"""Ingestion: the raw_transactions / rejected_transactions load and its checks,
on tiny hand-written files with known answers."""

import hashlib
import random
import re
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ml_assets.ingest import assets as ingest
from ml_assets.ingest import checks
from ml_assets.ingest.assets import (
    REASONS,
    load_transactions,
    source_path,
    transaction_log,
)
from ml_assets.lib.columns import parse_column_map
from ml_assets.lib.warehouse import warehouse_resource
from ml_assets.settings import Settings
from ml_assets_tests.conftest import run_assets, settings_in

NOW = datetime(2024, 6, 1)
HEADER = "customer_id,order_ts,amount,order_id,quantity"
CHECKS = [checks.rejected_share_under_limit, checks.order_ids_unique, checks.amounts_plausible]

CLEAN = f"""{HEADER}
C2,2024-01-03 09:00:00,20.00,O3,2
C1,2024-01-02 10:30:00,10.50,O1,1
C1,2024-01-01 08:00:00,5.25,O2,1
C3,2024-02-01,-4.00,O4,
C2,2024-01-01 12:00:00,7.00,O5,3
"""

# One row per reason, in file order; kept rows are 1, 2, 3 and 14.
MESSY = f"""{HEADER}
C1,2024-01-01 10:00:00,10.5,O1,1
C2,2024-01-02T10:00:00+02:00,20,O2,2
C2,2024-01-03,-5,O3,
  ,2024-01-03,5,O4,1
C3,2024-02-30,5,O5,1
C3,2024-01-04,N/A,O6,1
C3,2024-01-04,7,O7,two
C3,2099-01-04,7,O8,1
C3,2024-01-04,1000000,O9,1
C1,2024-01-01 10:00:00,10.5,O1,1
C4,2024-01-05,3,O1,1
C5,2024-01-05,3,O10,1,extra
C6,2024-01-05,nan,O12,1
C5,2024-01-06,4,O11,1
"""
MESSY_REASONS = {
    4: "missing_customer_id",
    5: "bad_timestamp",
    6: "bad_amount",
    7: "bad_quantity",
    8: "future_timestamp",
    9: "implausible_amount",
    10: "duplicate_row",
    11: "duplicate_order_id",
    12: "malformed_line",
    13: "bad_amount",
}


def _write(folder: Path, text: str, name: str = "tx.csv") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _load(folder: Path, path: Path, conn=None, **overrides):
    conn = conn or duckdb.connect()
    settings = settings_in(folder, transactions=str(path), **overrides)
    return conn, load_transactions(conn, path, settings, now=NOW)


def _rows(conn, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def _assert_balanced(summary: dict) -> None:
    assert summary["rows_in"] == (
        summary["rows_kept"] + summary["rows_rejected"] + summary["lines_merged"]
    )


# --- the happy path, through Dagster ----------------------------------------------


def test_clean_csv_materializes_with_exact_counts_and_passing_checks(tmp_path):
    path = _write(tmp_path, CLEAN)
    settings = settings_in(tmp_path, transactions=str(path))
    result = run_assets([transaction_log, *CHECKS], settings)

    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "rejected_share_under_limit": True,
        "order_ids_unique": True,
        "amounts_plausible": True,
    }
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.asset_materializations_for_node("transaction_log")
    }
    raw = meta["raw_transactions"]
    assert raw["dagster/row_count"].value == 5
    assert (raw["rows_in"].value, raw["rows_kept"].value, raw["rows_rejected"].value) == (5, 5, 0)
    assert raw["customers"].value == 3
    assert raw["refunds"].value == 1 and raw["refund_share"].value == pytest.approx(0.2)
    assert raw["min_order_ts"].value == "2024-01-01 08:00:00"
    assert raw["max_order_ts"].value == "2024-02-01 00:00:00"
    assert raw["source_sha256"].value == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "| C1 |" in _cells(raw["preview"].value)
    assert meta["rejected_transactions"]["dagster/row_count"].value == 0

    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        stored = _rows(conn, "SELECT customer_id, order_ts, amount, order_id, quantity, "
                             "source_row FROM transactions")
        log = _rows(conn, "SELECT source_bytes, rows_in, rows_kept, rows_rejected, customers, "
                          "min_order_ts, max_order_ts FROM ingest_log")
    # sorted by customer, then time; quantity blank -> NULL
    assert stored == [
        ("C1", datetime(2024, 1, 1, 8), 5.25, "O2", 1.0, 3),
        ("C1", datetime(2024, 1, 2, 10, 30), 10.5, "O1", 1.0, 2),
        ("C2", datetime(2024, 1, 1, 12), 7.0, "O5", 3.0, 5),
        ("C2", datetime(2024, 1, 3, 9), 20.0, "O3", 2.0, 1),
        ("C3", datetime(2024, 2, 1), -4.0, "O4", None, 4),
    ]
    assert log == [(path.stat().st_size, 5, 5, 0, 3, datetime(2024, 1, 1, 8), datetime(2024, 2, 1))]


def test_too_many_rejections_fail_the_blocking_check(tmp_path):
    path = _write(tmp_path, MESSY)
    settings = settings_in(tmp_path, transactions=str(path), max_rejected_share=0.5)
    result = run_assets([transaction_log, *CHECKS], settings, raise_on_error=False)

    assert not result.success  # a failed blocking check fails the run
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    share = evaluations["rejected_share_under_limit"]
    assert not share.passed
    assert share.metadata["rejected_share"].value == pytest.approx(10 / 14)
    assert share.metadata["limit"].value == 0.5
    assert evaluations["order_ids_unique"].passed and evaluations["amounts_plausible"].passed
    rejected = next(
        m for m in result.asset_materializations_for_node("transaction_log")
        if m.asset_key == dg.AssetKey("rejected_transactions")
    )
    assert rejected.metadata["dagster/row_count"].value == 10
    assert "| 12 | malformed_line |" in _cells(rejected.metadata["examples"].value)


# --- rejection reasons --------------------------------------------------------------


def test_each_reason_rejects_exactly_its_row(tmp_path):
    conn, summary = _load(tmp_path, _write(tmp_path, MESSY))

    reasons = dict(_rows(conn, "SELECT source_row, reason FROM rejected_transactions"))
    assert reasons == MESSY_REASONS
    assert [r for (r,) in _rows(conn, "SELECT source_row FROM transactions ORDER BY 1")] == [
        1, 2, 3, 14
    ]
    assert (summary["rows_in"], summary["rows_kept"], summary["rows_rejected"]) == (14, 4, 10)
    _assert_balanced(summary)
    assert _rows(conn, "SELECT table_name FROM information_schema.tables "
                       "WHERE table_catalog = 'temp'") == []  # staging freed
    assert summary["rejected_by_reason"] == {
        r: sum(v == r for v in MESSY_REASONS.values()) for r in REASONS
    }
    assert summary["repeated_rows"] == 1
    # the rejected row keeps its original text
    assert _rows(conn, "SELECT customer_id, order_ts, amount, order_id, quantity FROM "
                       "rejected_transactions WHERE source_row = 7") == [
        ("C3", "2024-01-04", "7", "O7", "two")
    ]


@pytest.mark.parametrize(
    "row, reason",
    [
        (",not-a-date,abc,O9,1", "missing_customer_id"),
        ("C1,not-a-date,abc,O9,1", "bad_timestamp"),
        ("C1,2024-01-01,abc,O9,zz", "bad_amount"),
        ("C1,2024-01-01,inf,O9,1", "bad_amount"),
        ("C1,2099-01-01,1e9,O9,zz", "bad_quantity"),
        ("C1,2099-01-01,1e9,O9,1", "future_timestamp"),
        ("C1,2024-01-01,-1e9,O9,1", "implausible_amount"),
    ],
)
def test_a_row_gets_the_first_reason_it_fails(tmp_path, row, reason):
    conn, _ = _load(tmp_path, _write(tmp_path, f"{HEADER}\nC0,2024-01-01,1,O0,1\n{row}\n"))
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions") == [(2, reason)]


def test_null_sentinel_timestamps_are_rejected_as_implausible(tmp_path):
    text = (
        f"{HEADER}\n"
        "C1,0001-01-01 00:00:00,5,O1,1\n"  # DateTime.MinValue
        "C1,1899-12-31,5,O2,1\n"  # the spreadsheet zero date
        "C1,1900-01-01,5,O3,1\n"
        "C1,1970-01-01 00:00:00,5,O4,1\n"  # Unix time 0
        "C1,1969-12-31T23:30:00-01:00,5,O5,1\n"  # 1970-01-01 00:30 UTC
        "C1,1970-01-02 00:00:00,5,O6,1\n"  # the earliest plausible day, kept
        "C1,2024-01-01,5,O7,1\n"
    )
    conn, summary = _load(tmp_path, _write(tmp_path, text))
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions ORDER BY 1") == [
        (r, "implausible_timestamp") for r in (1, 2, 3, 4, 5)
    ]
    assert _rows(conn, "SELECT order_id FROM transactions ORDER BY 1") == [("O6",), ("O7",)]
    assert summary["rejected_by_reason"]["implausible_timestamp"] == 5
    # the limit is a setting: a log of old records can lower it
    conn, _ = _load(tmp_path, _write(tmp_path, text), earliest_order_date="1900-01-01")
    assert _rows(conn, "SELECT source_row FROM rejected_transactions ORDER BY 1") == [(1,), (2,)]
    # a bad timestamp is still a bad timestamp, and a sentinel with a bad amount is
    # judged by its timestamp first
    conn, _ = _load(tmp_path, _write(tmp_path, f"{HEADER}\nC0,2024-01-01,1,O0,1\nC1,0001-01-01,x,O9,1\n"))
    assert _rows(conn, "SELECT reason FROM rejected_transactions") == [("implausible_timestamp",)]


def test_future_tolerance_is_measured_from_the_load_time(tmp_path):
    text = f"{HEADER}\nC1,2024-06-01 23:00,1,O1,1\nC1,2024-06-02 01:00,1,O2,1\n"
    conn, _ = _load(tmp_path, _write(tmp_path, text), future_tolerance_days=1)
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions") == [
        (2, "future_timestamp")
    ]
    conn, _ = _load(tmp_path, _write(tmp_path, text), future_tolerance_days=0)
    assert _rows(conn, "SELECT source_row FROM rejected_transactions ORDER BY 1") == [(1,), (2,)]


def test_malformed_lines_are_rejected_and_later_rows_keep_their_position(tmp_path):
    text = (
        f"{HEADER}\nC1,2024-01-01,1,O1,1\nC2,2024-01-02,2,O2,2,extra\nC3,2024-01-03\n"
        "C4,2024-01-04,4,O4,4\nC5,2024-01-05,5,O5,5,x,y\nC6,2024-01-06,6,O6,6\n"
    )
    conn, summary = _load(tmp_path, _write(tmp_path, text))

    assert _rows(conn, "SELECT source_row, reason, raw_line FROM rejected_transactions") == [
        (2, "malformed_line", "C2,2024-01-02,2,O2,2,extra"),
        (3, "malformed_line", "C3,2024-01-03"),
        (5, "malformed_line", "C5,2024-01-05,5,O5,5,x,y"),
    ]
    # source_row is the line number minus the header, so it must match the id digit
    assert _rows(conn, "SELECT source_row, customer_id FROM transactions") == [
        (1, "C1"), (4, "C4"), (6, "C6")
    ]
    assert (summary["rows_in"], summary["rows_kept"], summary["rows_rejected"]) == (6, 3, 3)


def test_random_messy_logs_account_for_every_line(tmp_path):
    """Every data line ends up in exactly one table under its own line number."""
    rng = random.Random(3)
    lines = []
    for i in range(1, 301):
        kind = rng.random()
        customer = "" if kind < 0.05 else f"C{rng.randint(1, 20)}"
        amount = "oops" if 0.05 <= kind < 0.1 else f"{rng.uniform(-50, 200):.2f}"
        order = f"O{rng.randint(1, 250)}"  # reused ids on purpose
        line = f"{customer},2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)},{amount},{order},1"
        if 0.1 <= kind < 0.15:
            line += ",surplus"
        if 0.15 <= kind < 0.2 and lines:
            line = rng.choice(lines)  # an exact repeat of an earlier line
        lines.append(line)
    conn, summary = _load(tmp_path, _write(tmp_path, HEADER + "\n" + "\n".join(lines) + "\n"))

    _assert_balanced(summary)
    assert summary["rows_in"] == len(lines) and summary["lines_merged"] == 0
    kept = _rows(conn, "SELECT source_row FROM transactions")
    rejected = _rows(conn, "SELECT source_row FROM rejected_transactions")
    assert sorted(kept + rejected) == [(i,) for i in range(1, len(lines) + 1)]
    # what each kept row holds is what its line says
    for source_row, customer, order in _rows(
        conn, "SELECT source_row, customer_id, order_id FROM transactions"
    ):
        fields = lines[source_row - 1].split(",")
        assert (fields[0], fields[3]) == (customer, order)
    assert _rows(conn, "SELECT count(*) - count(DISTINCT order_id) FROM transactions") == [(0,)]


# --- duplicates and order lines -------------------------------------------------------


@pytest.mark.parametrize("policy, kept, rejected", [("reject", 2, 1), ("keep", 3, 0)])
def test_repeated_rows_without_order_ids(tmp_path, policy, kept, rejected):
    text = "customer_id,order_ts,amount\nC1,2024-01-01,5\nC1,2024-01-01,5\nC1,2024-01-02,5\n"
    conn, summary = _load(tmp_path, _write(tmp_path, text), duplicate_rows=policy)

    assert summary["repeated_rows"] == 1  # counted either way
    assert (summary["rows_kept"], summary["rows_rejected"]) == (kept, rejected)
    assert _rows(conn, "SELECT count(*) FROM transactions WHERE order_ts = '2024-01-01'") == [
        (kept - 1,)
    ]


def test_rows_equal_in_mapped_columns_but_not_in_the_file_are_not_duplicates(tmp_path):
    text = "customer_id,order_ts,amount,sku\nC1,2024-01-01,5,A\nC1,2024-01-01,5,B\n"
    _, summary = _load(tmp_path, _write(tmp_path, text))
    assert (summary["repeated_rows"], summary["rows_kept"]) == (0, 2)


def test_exact_repeat_with_an_order_id_is_rejected_even_when_keeping_repeats(tmp_path):
    text = f"{HEADER}\nC1,2024-01-01,5,O1,1\nC1,2024-01-01,5,O1,1\n"
    conn, _ = _load(tmp_path, _write(tmp_path, text), duplicate_rows="keep")
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions") == [
        (2, "duplicate_row")
    ]


def test_a_reused_order_id_does_not_claim_the_id_when_its_first_row_was_invalid(tmp_path):
    text = f"{HEADER}\nC1,bad,5,O1,1\nC2,2024-01-01,6,O1,1\nC3,2024-01-02,7,O1,1\n"
    conn, _ = _load(tmp_path, _write(tmp_path, text))
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions") == [
        (1, "bad_timestamp"), (3, "duplicate_order_id")
    ]
    assert _rows(conn, "SELECT customer_id FROM transactions") == [("C2",)]


ONLINE_RETAIL = """Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
536365,85123A,WHITE HANGING HEART,6,12/01/2010 08:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/01/2010 08:26,3.39,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/01/2010 08:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER,6,12/01/2010 08:28,1.85,17850,United Kingdom
536366,22632,HAND WARMER RED,6,12/01/2010 08:29,1.85,17850,United Kingdom
C536379,D,Discount,-1,12/01/2010 09:41,27.50,14527,United Kingdom
536380,22961,JAM JAR,24,12/01/2010 09:41,1.45,17809,United Kingdom
536380,22962,JAM JAR LID,24,12/01/2010 09:41,0.85,12345,United Kingdom
536381,22139,RETROSPOT,1,12/01/2010 09:45,4.95,,United Kingdom
"""
RETAIL_MAP = (
    "customer_id=Customer ID,order_ts=InvoiceDate,amount=Quantity*Price,"
    "order_id=Invoice,quantity=Quantity"
)


def test_online_retail_lines_are_merged_into_orders(tmp_path):
    conn, summary = _load(
        tmp_path,
        _write(tmp_path, ONLINE_RETAIL),
        column_map=RETAIL_MAP,
        timestamp_format="%m/%d/%Y %H:%M",
        order_id_mode="lines",
    )

    assert _rows(conn, "SELECT customer_id, order_ts, round(amount, 6), order_id, quantity, "
                       "source_row FROM transactions") == [
        ("14527", datetime(2010, 12, 1, 9, 41), -27.5, "C536379", -1.0, 6),
        ("17850", datetime(2010, 12, 1, 8, 26), round(6 * 2.55 + 6 * 3.39, 6), "536365", 12.0, 1),
        ("17850", datetime(2010, 12, 1, 8, 28), round(12 * 1.85, 6), "536366", 12.0, 4),
    ]
    assert _rows(conn, "SELECT source_row, reason, amount FROM rejected_transactions") == [
        (3, "duplicate_row", "6*3.39"),
        (7, "conflicting_order_lines", "24*1.45"),
        (8, "conflicting_order_lines", "24*0.85"),
        (9, "missing_customer_id", "1*4.95"),
    ]
    assert (summary["rows_in"], summary["rows_kept"], summary["rows_rejected"]) == (9, 3, 4)
    assert summary["lines_merged"] == 2
    _assert_balanced(summary)
    assert summary["columns"]["amount"] == "Quantity * Price"


def test_an_order_total_above_max_amount_is_rejected_line_by_line(tmp_path):
    text = f"{HEADER}\nC1,2024-01-01,60,O1,1\nC1,2024-01-01,60,O1,2\nC1,2024-01-02,60,O2,1\n"
    conn, summary = _load(tmp_path, _write(tmp_path, text), order_id_mode="lines", max_amount=100)
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions") == [
        (1, "implausible_amount"), (2, "implausible_amount")
    ]
    assert summary["rows_kept"] == 1 and summary["lines_merged"] == 0


def test_lines_mode_needs_an_order_id_column(tmp_path):
    path = _write(tmp_path, "customer_id,order_ts,amount\nC1,2024-01-01,5\n")
    with pytest.raises(dg.Failure, match="ML_ASSETS_ORDER_ID_MODE.*ML_ASSETS_COLUMN_MAP"):
        _load(tmp_path, path, order_id_mode="lines")


# --- timestamps, column maps and formats ---------------------------------------------


def test_utc_offsets_are_converted_and_naive_times_kept_whatever_the_session_zone(tmp_path):
    text = (
        "customer_id,order_ts,amount\n"
        "C1,2024-03-01T12:00:00+02:00,1\n"
        "C2,2024-03-01 12:00:00-05:30,1\n"
        "C3,2024-03-01T12:00:00Z,1\n"
        "C4,2024-03-01 12:00:00,1\n"
        "C5,2024-03-01,1\n"
        "C6,2024-03-01T23:30:00.5-0100,1\n"
        "C7,2024-03-01 12:00:00 +0200,1\n"
        "C8,2024-03-01 12:00:00 Europe/Berlin,1\n"
    )
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'America/New_York'")
    conn, _ = _load(tmp_path, _write(tmp_path, text), conn=conn)
    assert _rows(conn, "SELECT customer_id, order_ts FROM transactions") == [
        ("C1", datetime(2024, 3, 1, 10)),
        ("C2", datetime(2024, 3, 1, 17, 30)),
        ("C3", datetime(2024, 3, 1, 12)),
        ("C4", datetime(2024, 3, 1, 12)),
        ("C5", datetime(2024, 3, 1)),
        ("C6", datetime(2024, 3, 2, 0, 30, 0, 500000)),
        ("C7", datetime(2024, 3, 1, 10)),
        ("C8", datetime(2024, 3, 1, 11)),  # CET in winter
    ]
    assert _rows(conn, "SELECT current_setting('TimeZone')") == [("America/New_York",)]


def test_timestamp_format_with_offset(tmp_path):
    text = "customer_id,order_ts,amount\nC1,01/02/2024 10:30 +0200,1\nC2,2024-01-02 10:30 +0200,1\n"
    conn, _ = _load(tmp_path, _write(tmp_path, text), timestamp_format="%m/%d/%Y %H:%M %z")
    assert _rows(conn, "SELECT customer_id, order_ts FROM transactions") == [
        ("C1", datetime(2024, 1, 2, 8, 30))
    ]
    assert _rows(conn, "SELECT reason FROM rejected_transactions") == [("bad_timestamp",)]


def test_column_names_match_ignoring_case_and_unusual_names_are_quoted(tmp_path):
    text = 'Kunde "ID",Datum,Betrag\nK1,2024-01-01,3.5\n'
    conn, summary = _load(
        tmp_path, _write(tmp_path, text),
        column_map='customer_id=kunde "id",order_ts=Datum,amount=BETRAG',
    )
    assert _rows(conn, "SELECT customer_id, amount FROM transactions") == [("K1", 3.5)]
    assert summary["columns"]["customer_id"] == 'Kunde "ID"'


def test_parquet_columns_are_read_as_text_and_validated(tmp_path):
    path = tmp_path / "tx.parquet"
    duckdb.execute(
        f"""COPY (SELECT * FROM (VALUES
            ('C1', TIMESTAMP '2024-01-01 10:00:00', 10.5::DOUBLE, 'O1'),
            ('C2', TIMESTAMP '2024-01-02 11:00:00', 'nan'::DOUBLE, 'O2'),
            (NULL, TIMESTAMP '2024-01-03 12:00:00', 3.0::DOUBLE, 'O3'),
            ('C2', TIMESTAMP '2024-01-04 13:00:00', -2.0::DOUBLE, 'O4')
        ) AS t(customer_id, order_ts, amount, order_id)) TO '{path}' (FORMAT parquet)"""
    )
    conn, summary = _load(tmp_path, path)
    assert _rows(conn, "SELECT customer_id, order_ts, amount, source_row FROM transactions") == [
        ("C1", datetime(2024, 1, 1, 10), 10.5, 1),
        ("C2", datetime(2024, 1, 4, 13), -2.0, 4),
    ]
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions") == [
        (2, "bad_amount"), (3, "missing_customer_id")
    ]
    assert summary["encoding"] == "parquet"


def test_gzipped_csv_and_tab_separated_files_load(tmp_path):
    import gzip

    gz = tmp_path / "tx.csv.gz"
    gz.write_bytes(gzip.compress(CLEAN.encode()))
    tsv = _write(tmp_path, CLEAN.replace(",", "\t"), "tx.tsv")
    for path in (gz, tsv):
        conn, summary = _load(tmp_path, path)
        assert (summary["rows_in"], summary["rows_kept"]) == (5, 5)
        assert _rows(conn, "SELECT sum(amount) FROM transactions") == [(38.75,)]


# --- encodings ---------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_read_as_latin1_without_losing_rows(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes("customer_id,order_ts,amount\nMüller,2024-01-01,5\nC2,2024-01-02,6\n"
                     "Zoë,2024-01-03,7\n".encode("latin-1"))
    conn, summary = _load(tmp_path, path)
    assert summary["encoding"] == "latin-1"
    assert (summary["rows_in"], summary["rows_kept"], summary["rows_rejected"]) == (3, 3, 0)
    assert _rows(conn, "SELECT customer_id FROM transactions") == [("C2",), ("Müller",), ("Zoë",)]


def test_utf16_with_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes("customer_id,order_ts,amount\nÅsa,2024-01-01,5\n".encode("utf-16"))
    conn, summary = _load(tmp_path, path)
    assert summary["encoding"] == "utf-16"
    assert _rows(conn, "SELECT customer_id, amount FROM transactions") == [("Åsa", 5.0)]


# --- failures that tell the user what to do -----------------------------------------


def test_no_configured_file_means_the_bundled_sample_written_on_first_use(tmp_path, monkeypatch):
    calls = []

    def fake_sample(path):
        calls.append(Path(path))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(CLEAN)
        return Path(path)

    monkeypatch.setattr("ml_assets.ingest.sample_data.ensure_sample", fake_sample)
    monkeypatch.chdir(tmp_path)
    path = source_path(settings_in(tmp_path))
    assert calls == [Path("data/sample/transactions.csv")] and path == calls[0]
    source_path(settings_in(tmp_path, transactions=str(path)))  # a configured file: no sample
    assert len(calls) == 1


def test_missing_file_names_the_path_and_the_variable(tmp_path):
    settings = settings_in(tmp_path, transactions=str(tmp_path / "nope.csv"))
    with pytest.raises(dg.Failure, match=r"nope\.csv.*ML_ASSETS_TRANSACTIONS"):
        source_path(settings)


def test_missing_required_column_names_it_and_the_columns_present(tmp_path):
    path = _write(tmp_path, "CustomerID,InvoiceDate,Total\nC1,2024-01-01,5\n")
    with pytest.raises(dg.Failure) as failure:
        _load(tmp_path, path, column_map="customer_id=CustomerID,order_ts=InvoiceDate")
    message = failure.value.description
    assert "amount (looked for amount)" in message
    assert "CustomerID, InvoiceDate, Total" in message
    assert "ML_ASSETS_COLUMN_MAP" in message
    assert "customer_id" not in message.split("Its columns")[0]


@pytest.mark.parametrize("text", ["", f"{HEADER}\n"], ids=["empty", "header_only"])
def test_empty_and_header_only_files_fail(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(dg.Failure, match=r"tx\.csv has no data rows.*ML_ASSETS_TRANSACTIONS"):
        _load(tmp_path, path)


def test_unsupported_or_unreadable_files_fail(tmp_path):
    path = _write(tmp_path, CLEAN, "tx.xlsx")
    with pytest.raises(dg.Failure, match=r"tx\.xlsx.*\.parquet.*ML_ASSETS_TRANSACTIONS"):
        _load(tmp_path, path)
    path = _write(tmp_path, CLEAN, "tx.parquet")
    with pytest.raises(dg.Failure, match=r"tx\.parquet as Parquet.*ML_ASSETS_TRANSACTIONS"):
        _load(tmp_path, path)


def test_an_invalid_timestamp_format_fails_the_load_naming_the_variable(tmp_path):
    with pytest.raises(dg.Failure, match="ML_ASSETS_TIMESTAMP_FORMAT"):
        _load(tmp_path, _write(tmp_path, CLEAN), timestamp_format="%Q")


@pytest.mark.parametrize(
    "environ, variable",
    [
        ({"ML_ASSETS_ORDER_ID_MODE": "orders"}, "ML_ASSETS_ORDER_ID_MODE"),
        ({"ML_ASSETS_DUPLICATE_ROWS": "drop"}, "ML_ASSETS_DUPLICATE_ROWS"),
        ({"ML_ASSETS_MAX_AMOUNT": "0"}, "ML_ASSETS_MAX_AMOUNT"),
        ({"ML_ASSETS_EARLIEST_ORDER_DATE": "01/01/1970"}, "ML_ASSETS_EARLIEST_ORDER_DATE"),
        ({"ML_ASSETS_RISK_THRESHOLDS": "0.5,0.3,0.7"}, "ML_ASSETS_RISK_THRESHOLDS"),
        ({"ML_ASSETS_ACTIVE_DAYS": "-1"}, "ML_ASSETS_ACTIVE_DAYS"),
        ({"ML_ASSETS_ACTIVE_DAYS": "a year"}, "ML_ASSETS_ACTIVE_DAYS"),
    ],
)
def test_invalid_settings_are_refused_when_read_naming_the_variable(environ, variable):
    with pytest.raises(dg.DagsterInvalidConfigError, match=variable):
        Settings.from_env(environ)


def test_settings_parse_lists_and_choices_from_the_environment():
    settings = Settings.from_env({"ML_ASSETS_RISK_THRESHOLDS": "0.2, 0.4,0.9",
                                  "ML_ASSETS_ORDER_ID_MODE": "lines"})
    assert settings.risk_thresholds == [0.2, 0.4, 0.9] and settings.order_id_mode == "lines"
    assert Settings.from_env({}).value_segments == [0.5, 0.8, 0.95]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("customer_id", "not canonical=FileColumn"),
        ("client=CustomerID", "'client' is not one of"),
        ("order_ts=A*B", "only amount may be a product"),
        ("amount=A*B*C", "only amount may be a product"),
        ("amount=A,amount=B", "mapped twice"),
    ],
)
def test_bad_column_maps_are_refused(text, problem):
    with pytest.raises(dg.Failure, match=problem):
        parse_column_map(text)


def test_column_map_parses_products_and_spaces():
    assert parse_column_map(" customer_id = Customer ID , amount=Quantity * Price,") == {
        "customer_id": ("Customer ID",),
        "amount": ("Quantity", "Price"),
    }


# --- a failed load leaves the previous one in place ----------------------------------


def _snapshot(conn) -> tuple:
    return tuple(
        _rows(conn, f"SELECT * FROM {t} ORDER BY ALL")
        for t in ("transactions", "rejected_transactions", "ingest_log")
    )


def test_a_failed_reload_leaves_the_previous_tables(tmp_path):
    conn, _ = _load(tmp_path, _write(tmp_path, MESSY, "first.csv"))
    before = _snapshot(conn)
    with pytest.raises(dg.Failure):
        _load(tmp_path, _write(tmp_path, "a,b\n1,2\n", "second.csv"), conn=conn)
    assert _snapshot(conn) == before


def test_a_failure_inside_the_write_rolls_back_both_tables(tmp_path, monkeypatch):
    conn, _ = _load(tmp_path, _write(tmp_path, MESSY, "first.csv"))
    before = _snapshot(conn)

    def broken(summary, path):
        raise dg.Failure("bookkeeping broken")

    monkeypatch.setattr(ingest, "_check_invariant", broken)
    with pytest.raises(dg.Failure, match="bookkeeping broken"):
        _load(tmp_path, _write(tmp_path, CLEAN, "second.csv"), conn=conn)
    assert _snapshot(conn) == before
    assert len(before[0]) == 4  # really the first load's rows, not the second's 5


def test_every_load_is_logged_with_its_fingerprint(tmp_path):
    conn, first = _load(tmp_path, _write(tmp_path, CLEAN, "a.csv"))
    conn, second = _load(tmp_path, _write(tmp_path, MESSY, "b.csv"), conn=conn)
    log = _rows(conn, "SELECT source_sha256, rows_in, rows_kept, rows_rejected FROM ingest_log "
                      "ORDER BY rows_in")
    assert log == [
        (first["source_sha256"], 5, 5, 0),
        (second["source_sha256"], 14, 4, 10),
    ]
    assert first["source_sha256"] != second["source_sha256"]


# --- the checks on crafted bad data ----------------------------------------------------


def _warehouse_with(tmp_path, rows: list[tuple], log=(100, 90, 10)):
    tmp_path.mkdir()
    settings = settings_in(tmp_path, max_rejected_share=0.05, max_amount=1000.0)
    conn = duckdb.connect(settings.warehouse)
    conn.execute(ingest.read_sql(ingest.__file__, "create_tables.sql"))
    conn.executemany("INSERT INTO transactions VALUES (?, ?, ?, ?, NULL, ?)", rows)
    conn.execute(
        "INSERT INTO ingest_log VALUES (now(), 'x.csv', 'abc', 1, ?, ?, ?, NULL, NULL, 1)",
        list(log),
    )
    conn.close()
    return settings, warehouse_resource(settings.warehouse)


GOOD_ROWS = [
    ("C1", datetime(2024, 1, 1), 5.0, "O1", 1),
    ("C1", datetime(2024, 1, 2), -2.0, "O2", 2),
]


def test_checks_fail_on_crafted_bad_data(tmp_path):
    settings, warehouse = _warehouse_with(tmp_path / "good", GOOD_ROWS, log=(100, 96, 4))
    assert checks.rejected_share_under_limit(settings=settings, warehouse=warehouse).passed
    assert checks.order_ids_unique(warehouse=warehouse).passed
    assert checks.amounts_plausible(settings=settings, warehouse=warehouse).passed

    settings, warehouse = _warehouse_with(tmp_path / "share", GOOD_ROWS, log=(100, 94, 6))
    result = checks.rejected_share_under_limit(settings=settings, warehouse=warehouse)
    assert not result.passed and result.metadata["rejected_share"].value == pytest.approx(0.06)
    assert result.severity == dg.AssetCheckSeverity.ERROR

    dup = GOOD_ROWS + [("C2", datetime(2024, 1, 3), 1.0, "O1", 3)]
    settings, warehouse = _warehouse_with(tmp_path / "dup", dup)
    result = checks.order_ids_unique(warehouse=warehouse)
    assert not result.passed and result.metadata["examples"].value == "O1"

    for name, amount in [("inf", float("inf")), ("nan", float("nan")), ("big", -1000.5)]:
        rows = GOOD_ROWS + [("C3", datetime(2024, 1, 4), amount, "O9", 3)]
        settings, warehouse = _warehouse_with(tmp_path / name, rows)
        assert not checks.amounts_plausible(settings=settings, warehouse=warehouse).passed, name

    refunds_only = [("C1", datetime(2024, 1, 1), -5.0, "O1", 1)]
    settings, warehouse = _warehouse_with(tmp_path / "neg", refunds_only)
    result = checks.amounts_plausible(settings=settings, warehouse=warehouse)
    assert not result.passed and result.metadata["positive"].value == 0


def test_checks_refuse_to_run_before_a_load(tmp_path):
    settings = settings_in(tmp_path)
    with pytest.raises(dg.Failure, match="materialize raw_transactions first"):
        checks.order_ids_unique(warehouse=warehouse_resource(settings.warehouse))


def test_ingest_definitions_are_grouped_pooled_and_gated(tmp_settings):
    from ml_assets.ingest import defs

    resources = {"settings": tmp_settings, "warehouse": warehouse_resource(tmp_settings.warehouse)}
    merged = dg.Definitions.merge(defs, dg.Definitions(resources=resources))
    assert {s.key.to_user_string(): s.group_name for s in merged.resolve_all_asset_specs()} == {
        "raw_transactions": "ingest",
        "rejected_transactions": "ingest",
        "ingest_log": "ingest",  # the side table, an external spec
    }
    graph = merged.resolve_asset_graph()
    assert not graph.get(dg.AssetKey("ingest_log")).is_executable
    assert graph.get(dg.AssetKey("ingest_log")).parent_keys == {dg.AssetKey("raw_transactions")}
    raw = merged.resolve_assets_def("raw_transactions")
    assert raw.node_def.pool == "warehouse"
    assert raw.backfill_policy == dg.BackfillPolicy.single_run()
    gates = {spec.name: spec.blocking for c in merged.asset_checks for spec in c.check_specs}
    assert gates == {
        "rejected_share_under_limit": True,
        "order_ids_unique": True,
        "amounts_plausible": True,
    }


def test_null_markers_written_as_text_are_missing_customers_not_one_fake_customer(tmp_path):
    text = f"""{HEADER}
NULL,2024-01-01,5.00,O1,1
None,2024-01-02,6.00,O2,1
nan,2024-01-03,7.00,O3,1
 n/a ,2024-01-04,8.00,O4,1
Nullson,2024-01-05,9.00,O5,1
"""
    conn, summary = _load(tmp_path, _write(tmp_path, text))
    assert _rows(conn, "SELECT source_row, reason FROM rejected_transactions ORDER BY 1") == [
        (1, "missing_customer_id"), (2, "missing_customer_id"), (3, "missing_customer_id"),
        (4, "missing_customer_id"),
    ]
    assert _rows(conn, "SELECT customer_id FROM transactions") == [("Nullson",)]
    _assert_balanced(summary)


@pytest.mark.parametrize("selected", ["raw_transactions", "rejected_transactions"])
def test_either_ingest_table_can_be_materialized_alone_and_both_stay_consistent(
    tmp_path, selected
):
    path = _write(tmp_path, MESSY)
    settings = settings_in(tmp_path, transactions=str(path), max_rejected_share=1.0)
    result = run_assets([transaction_log, *CHECKS], settings, selection=[selected])

    assert result.success
    # both tables come from one load, so both are written and both are reported
    reported = {
        e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
    }
    assert reported == {"raw_transactions": 4, "rejected_transactions": 10}
    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        assert _rows(conn, "SELECT count(*) FROM transactions") == [(4,)]
        assert _rows(conn, "SELECT count(*) FROM rejected_transactions") == [(10,)]
        assert _rows(conn, "SELECT rows_kept, rows_rejected FROM ingest_log") == [(4, 10)]


def _cells(markdown: str) -> str:
    """A markdown table with each cell's padding collapsed to one space."""
    return re.sub(r" *\| *", " | ", markdown)
