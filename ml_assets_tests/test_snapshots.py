"""Point-in-time features and labels: known answers, an independent reference,
and the leakage proof."""

from datetime import date

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from ml_assets.settings import Settings
from ml_assets.snapshots.assets import (
    label_horizons,
    prepare_state,
    reference_features,
    stage_features,
    stage_labels,
    validate_cutoffs,
)
from ml_assets.lib.warehouse import table_exists
from ml_assets.snapshots.store import columns, replace_cutoffs, replace_cutoffs_in_batches
from ml_assets_tests.factories import random_transactions, warehouse_with

T = date(2022, 6, 1)


def features_at(transactions: pd.DataFrame, cutoffs: list[date]) -> pd.DataFrame:
    conn = warehouse_with(transactions)
    prepare_state(conn, cutoffs)
    stage_features(conn, cutoffs)
    return conn.execute("SELECT * FROM staged_features ORDER BY cutoff_date, customer_id").df()


def labels_at(transactions: pd.DataFrame, cutoffs: list[date], **settings) -> pd.DataFrame:
    conn = warehouse_with(transactions)
    last_event = validate_cutoffs(conn, cutoffs)
    config = Settings(**settings)
    prepare_state(conn, cutoffs, label_horizons(config))
    stage_labels(conn, cutoffs, config, last_event)
    return conn.execute("SELECT * FROM staged_labels ORDER BY cutoff_date, customer_id").df()


def log(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"])
    frame["order_id"] = [f"O{i}" for i in range(len(frame))]
    frame["quantity"] = 1.0
    frame["source_row"] = range(1, len(frame) + 1)
    return frame


HAND = log(
    ("A", "2022-01-10 09:00", 100.0),
    ("A", "2022-01-10 18:00", 50.0),  # same day: 2 orders, 1 purchase day
    ("A", "2022-03-01 12:00", 30.0),
    ("A", "2022-04-15 08:00", -20.0),  # refund
    ("A", "2022-05-20 23:59", 70.0),
    ("A", "2022-06-01 00:00", 999.0),  # exactly at the cutoff: must not count
    ("A", "2022-07-01 10:00", 40.0),
    ("B", "2022-05-31 23:59", 10.0),
    ("C", "2022-06-01 00:00", 5.0),  # first purchase at the cutoff: not eligible
    ("D", "2021-03-01 10:00", 60.0),
    ("D", "2022-12-01 10:00", 25.0),
)


def test_features_known_answers():
    f = features_at(HAND, [T]).set_index("customer_id")
    assert list(f.index) == ["A", "B", "D"]
    a = f.loc["A"]
    assert a.orders_total == 4 and a.purchase_days == 3 and a.refunds_total == 1
    assert a.recency_days == 12  # 2022-05-20 -> 2022-06-01
    assert a.tenure_days == 142  # 2022-01-10 -> 2022-06-01
    assert a.gross_spend == 250 and a.net_spend == 230 and a.refund_amount == 20
    assert a.avg_order_value == pytest.approx(62.5)
    assert a.std_order_value == pytest.approx(np.std([100, 50, 30, 70]))
    assert a.max_order_value == 100 and a.first_day_spend == 150
    assert a.refund_share == pytest.approx(20 / 250)
    # windows [T - w, T): 90 days back is 2022-03-03
    assert (a.orders_30d, a.orders_90d, a.orders_180d) == (1, 1, 4)
    assert a.spend_30d == 70 and a.spend_90d == 50 and a.spend_180d == 230
    assert (a.purchase_days_90d, a.purchase_days_365d) == (1, 3)
    # gaps between purchase days: 50 (01-10 -> 03-01) and 80 (03-01 -> 05-20)
    assert a.gap_mean == 65 and a.gap_std == 15 and a.gap_max == 80
    assert a.recency_over_gap == pytest.approx(12 / 65)
    assert a.orders_trend == pytest.approx(1 / (4 * 90 / 365))
    # BTYD: 2 repeat purchase days, last - first = 130 days, age 142 days,
    # mean repeat spend (30 + 70) / 2
    assert (a.btyd_frequency, a.btyd_recency, a.btyd_T, a.btyd_monetary) == (2, 130, 142, 50)
    b = f.loc["B"]
    assert b.recency_days == 1 and b.orders_total == 1 and np.isnan(b.gap_mean)
    assert b.btyd_frequency == 0 and b.btyd_monetary == 0
    d = f.loc["D"]
    assert d.orders_365d == 0 and np.isnan(d.orders_trend) and d.recency_days == 457


def test_labels_known_answers():
    lab = labels_at(HAND, [T], churn_window_days=30, ltv_horizon_days=180).set_index("customer_id")
    assert list(lab.index) == ["A", "B", "D"]
    # A buys at the cutoff instant (inside [T, T+30)); B and D do not
    assert lab.churned.to_dict() == {"A": False, "B": True, "D": True}
    # [T, T + 180) = [06-01, 11-28): A 999 + 40; D's 12-01 purchase is outside
    assert lab.future_spend.to_dict() == {"A": 1039.0, "B": 0.0, "D": 0.0}
    assert lab.churn_label_mature.all() and lab.ltv_label_mature.all()


def test_immature_labels_are_null_and_flagged():
    # last event 2022-12-01 10:00: a 180-day window from 2022-06-01 ends 11-28 (mature),
    # a 365-day one ends 2023-06-01 (immature)
    lab = labels_at(HAND, [T], churn_window_days=180, ltv_horizon_days=365)
    assert lab.churn_label_mature.all() and lab.churned.notna().all()
    assert not lab.ltv_label_mature.any() and lab.future_spend.isna().all()
    lab2 = labels_at(HAND, [date(2022, 9, 1)], churn_window_days=92, ltv_horizon_days=92)
    # 09-01 + 92 days = 12-02 00:00 > last event 12-01 10:00: immature by hours
    assert not lab2.churn_label_mature.any() and lab2.churned.isna().all()
    lab3 = labels_at(HAND, [date(2022, 9, 1)], churn_window_days=91, ltv_horizon_days=91)
    assert lab3.churn_label_mature.all()


def test_one_pass_features_equal_independent_reference():
    tx = random_transactions(n_customers=120, seed=3)
    cutoffs = [date(2021, 9, 1), date(2022, 1, 1), date(2022, 6, 1), date(2023, 3, 1)]
    fast = features_at(tx, cutoffs)
    conn = warehouse_with(tx)
    for cutoff in cutoffs:
        got = fast[fast.cutoff_date == pd.Timestamp(cutoff)].reset_index(drop=True)
        ref = reference_features(conn, cutoff, got.customer_id.tolist())
        assert len(got) > 20
        pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-9, atol=1e-9)


def test_window_edges_equal_reference_for_quiet_and_active_customers():
    """A window [T - w, T) is looked up only for customers whose last event is
    in it: last events exactly on T - w (inside), the day before (outside) and
    refunds-only activity must still equal the plain per-cutoff reference."""
    rows = []
    for w in (30, 90, 180, 275, 365):
        for shift, name in ((0, "on"), (1, "before")):
            edge = (pd.Timestamp(T) - pd.Timedelta(days=w + shift)).strftime("%Y-%m-%d %H:%M")
            customer = f"{name}{w}"
            rows += [(customer, "2020-02-03 10:00", 40.0), (customer, edge, 25.0)]
        on_edge = (pd.Timestamp(T) - pd.Timedelta(days=w)).strftime("%Y-%m-%d 12:00")
        rows += [(f"refund{w}", "2020-05-05 10:00", 80.0), (f"refund{w}", on_edge, -30.0)]
    tx = log(*rows)
    got = features_at(tx, [T])
    ref = reference_features(warehouse_with(tx), T, got.customer_id.tolist())
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-9, atol=1e-9)
    on30 = got.set_index("customer_id").loc["on30"]
    assert (on30.orders_30d, on30.spend_30d) == (1, 25)
    assert got.set_index("customer_id").loc["before30"].orders_30d == 0


def test_windows_holding_a_whole_history_equal_reference():
    """A window [T - w, T) that holds all of a customer's events is their whole
    state, not looked up: first events exactly on T - w (inside) and the day
    before (outside), and a refund before the first purchase, just outside the
    window while the purchase is inside, so the window is not the whole state."""
    rows = []
    for w in (30, 90, 180, 275, 365):
        for shift, name in ((0, "on"), (1, "before")):
            first = pd.Timestamp(T) - pd.Timedelta(days=w + shift)
            customer = f"{name}{w}"
            rows += [(customer, first.strftime("%Y-%m-%d 09:00"), 40.0),
                     (customer, (pd.Timestamp(T) - pd.Timedelta(days=3)).strftime("%Y-%m-%d 10:00"), 5.0)]
        refund = (pd.Timestamp(T) - pd.Timedelta(days=w + 1)).strftime("%Y-%m-%d 09:00")
        bought = (pd.Timestamp(T) - pd.Timedelta(days=w - 1)).strftime("%Y-%m-%d 09:00")
        rows += [(f"early_refund{w}", refund, -15.0), (f"early_refund{w}", bought, 60.0)]
    tx = log(*rows)
    got = features_at(tx, [T])
    ref = reference_features(warehouse_with(tx), T, got.customer_id.tolist())
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-9, atol=1e-9)
    by = got.set_index("customer_id")
    assert (by.loc["on90"].orders_90d, by.loc["on90"].spend_90d) == (2, 45)
    assert (by.loc["before90"].orders_90d, by.loc["before90"].spend_90d) == (1, 5)
    # the refund came before the window: the window's spend is the purchase alone
    assert by.loc["early_refund90"].spend_90d == 60 and by.loc["early_refund90"].net_spend == 45


def test_same_day_orders_refunds_and_zero_amounts_equal_reference():
    """The state counts purchase days and their gaps from single orders: a second
    order the same day is no new purchase day and no gap, the first day's spend
    sums every order that day, and refunds and zero amounts are events but not
    purchases; also across the look-up days of the windows."""
    tx = log(
        ("first_twice", "2022-01-10 09:00", 100.0), ("first_twice", "2022-01-10 18:00", 50.0),
        ("first_twice", "2022-04-01 10:00", 30.0),
        ("one_day", "2022-03-05 08:00", 10.0), ("one_day", "2022-03-05 09:00", 20.0),
        ("one_day", "2022-03-05 23:59", 30.0),
        ("repeat", "2021-11-20 10:00", 15.0), ("repeat", "2022-02-01 10:00", 25.0),
        ("repeat", "2022-02-01 11:00", 35.0), ("repeat", "2022-05-02 10:00", 45.0),
        ("repeat", "2022-05-02 12:00", 5.0),
        ("mixed", "2022-02-10 10:00", 80.0), ("mixed", "2022-02-10 15:00", -30.0),
        ("mixed", "2022-03-03 10:00", -10.0), ("mixed", "2022-05-20 10:00", 60.0),
        ("zero", "2021-12-24 10:00", 0.0), ("zero", "2022-01-05 10:00", 70.0),
        ("zero", "2022-01-05 10:00", 0.0), ("zero", "2022-05-25 10:00", 0.0),
    )
    got = features_at(tx, [T])
    ref = reference_features(warehouse_with(tx), T, got.customer_id.tolist())
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-9, atol=1e-9)
    by = got.set_index("customer_id")
    assert (by.loc["first_twice"].purchase_days, by.loc["first_twice"].first_day_spend) == (2, 150)
    one = by.loc["one_day"]
    assert (one.orders_total, one.purchase_days, one.first_day_spend) == (3, 1, 60)
    assert np.isnan(one.gap_mean) and np.isnan(one.gap_max)
    rep = by.loc["repeat"]
    # purchase days 2021-11-20, 2022-02-01 and 2022-05-02: gaps 73 and 90, one in November
    assert (rep.orders_total, rep.purchase_days, rep.gap_max, rep.gap_mean) == (5, 3, 90, 81.5)
    assert rep.holiday_share == pytest.approx(1 / 3) and rep.purchase_days_90d == 1
    mixed = by.loc["mixed"]
    assert (mixed.orders_total, mixed.refunds_total, mixed.purchase_days, mixed.gap_max) == (2, 2, 2, 99)
    zero = by.loc["zero"]
    assert (zero.orders_total, zero.purchase_days, zero.first_day_spend) == (1, 1, 70)


def test_the_state_holds_one_row_per_span_between_look_up_days():
    """A customer's events between two consecutive look-up days (the cutoff and
    the cutoff minus each window) roll up into one row of the running state;
    events on or after the last look-up day are left out."""
    conn = warehouse_with(HAND)
    prepare_state(conn, [T])
    rows = conn.execute(
        "SELECT s.day, s.last_event_day, s.orders, s.purchase_days FROM customer_state s "
        "JOIN first_purchases f USING (customer_key) WHERE f.customer_id = 'A' ORDER BY s.day"
    ).fetchall()
    # A bought on Jan 10 (twice) and Mar 1, between T - 180 (Dec 3) and T - 90 (Mar 3);
    # refunded on Apr 15, before T - 30 (May 2); bought on May 20; then at and after T
    assert rows == [
        (date(2021, 12, 3), date(2022, 3, 1), 3, 2),
        (date(2022, 3, 3), date(2022, 4, 15), 3, 2),
        (date(2022, 5, 2), date(2022, 5, 20), 4, 3),
    ]


def test_look_ups_at_days_the_state_was_not_prepared_for_are_refused():
    conn = warehouse_with(HAND)
    last_event = validate_cutoffs(conn, [T])
    prepare_state(conn, [T])  # features only: no label horizons
    with pytest.raises(ValueError, match="without the look-up days"):
        stage_features(conn, [date(2022, 7, 1)])
    with pytest.raises(ValueError, match="without the look-up days"):
        stage_labels(conn, [T], Settings(), last_event)
    prepare_state(conn, [T], (90, 365))
    stage_labels(conn, [T], Settings(churn_window_days=90, ltv_horizon_days=365), last_event)
    assert conn.execute("SELECT count(*) FROM staged_labels").fetchone()[0] == 3


def _mutate_from(tx: pd.DataFrame, cutoff: date, seed: int) -> pd.DataFrame:
    """Change or delete every event at or after the cutoff, and add new ones."""
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(cutoff)
    before, after = tx[tx.order_ts < ts], tx[tx.order_ts >= ts].copy()
    keep = rng.random(len(after)) < 0.5
    after = after[keep]
    after["amount"] = -after["amount"] * 3 + 1
    after["order_ts"] = ts + pd.to_timedelta(rng.integers(0, 400 * 86_400, len(after)), unit="s")
    extra = before.sample(n=min(40, len(before)), random_state=seed).copy()
    extra["order_ts"] = ts  # exactly at the cutoff
    extra["amount"] = 12345.0
    return pd.concat([before, after, extra], ignore_index=True).sample(frac=1, random_state=seed)


@pytest.mark.parametrize("seed", [1, 2])
def test_features_do_not_move_when_events_at_or_after_cutoff_change(seed):
    tx = random_transactions(n_customers=150, seed=seed)
    cutoff = date(2022, 3, 1)
    original = features_at(tx, [cutoff])
    mutated = features_at(_mutate_from(tx, cutoff, seed), [cutoff])
    pd.testing.assert_frame_equal(original, mutated, check_exact=True)
    # and deleting every event at or after the cutoff changes nothing either
    deleted = features_at(tx[tx.order_ts < pd.Timestamp(cutoff)], [cutoff])
    pd.testing.assert_frame_equal(original, deleted, check_exact=True)
    # computed together with other cutoffs, the cutoff's rows are the same bits
    many = features_at(tx, [date(2021, 6, 1), cutoff, date(2022, 11, 1)])
    many = many[many.cutoff_date == pd.Timestamp(cutoff)].reset_index(drop=True)
    pd.testing.assert_frame_equal(original, many, check_exact=True)


def test_labels_see_only_their_window():
    tx = random_transactions(n_customers=150, seed=5)
    cutoff, window = date(2022, 3, 1), 90
    settings = dict(churn_window_days=window, ltv_horizon_days=window)
    original = labels_at(tx, [cutoff], **settings)
    start, end = pd.Timestamp(cutoff), pd.Timestamp(cutoff) + pd.Timedelta(days=window)
    outside = tx.copy()
    # change amounts before the cutoff (keeping purchases positive) and move
    # events at or after the window's end further out: labels must not move
    pre = outside.order_ts < start
    outside.loc[pre, "amount"] = outside.loc[pre, "amount"].where(
        outside.loc[pre, "amount"] < 0, outside.loc[pre, "amount"] + 7
    )
    post = outside.order_ts >= end
    outside.loc[post, "order_ts"] += pd.Timedelta(days=30)
    pd.testing.assert_frame_equal(original, labels_at(outside, [cutoff], **settings))
    # an event inside [T, T + window) does move them
    inside = tx[tx.order_ts < start].groupby("customer_id").head(1).copy()
    churners = set(original.customer_id[original.churned])
    inside = inside[inside.customer_id.isin(churners)].head(5)
    assert len(inside) == 5, "the generated log must hold churners for this test to mean anything"
    inside["order_ts"] = end - pd.Timedelta(seconds=1)
    moved = labels_at(pd.concat([tx, inside], ignore_index=True), [cutoff], **settings)
    changed = original.merge(moved, on="customer_id").query("churned_x != churned_y")
    assert set(changed.customer_id) == set(inside.customer_id)


def test_cutoffs_beyond_the_data_are_refused():
    conn = warehouse_with(HAND)
    assert validate_cutoffs(conn, [date(2022, 12, 1)]) == pd.Timestamp("2022-12-01 10:00")
    validate_cutoffs(conn, [date(2022, 12, 2)])  # the day after the last event is fine
    with pytest.raises(dg.Failure, match="after the data's last event"):
        validate_cutoffs(conn, [date(2023, 1, 1)])
    with pytest.raises(dg.Failure, match="No customer had purchased before"):
        validate_cutoffs(conn, [date(2021, 3, 1)])


def test_a_failed_rebuild_of_a_changed_table_keeps_the_old_table():
    conn = duckdb.connect(":memory:")
    conn.execute("CREATE TABLE customer_features AS SELECT DATE '2022-01-01' AS cutoff_date, 1 AS old")
    # new columns (so the table is rebuilt), and a row that fails only when inserted
    conn.execute(
        "CREATE TEMP VIEW staged_features AS SELECT DATE '2022-01-01' AS cutoff_date, "
        "CAST(v AS INTEGER) AS new FROM (VALUES ('1'), ('not a number')) AS t(v)"
    )
    cutoffs = [date(2022, 1, 1)]
    one = dg.MonthlyPartitionsDefinition(start_date="2022-01-01", end_date="2022-02-01")
    with pytest.raises(duckdb.ConversionException):
        replace_cutoffs(conn, "customer_features", "staged_features", cutoffs, one)
    assert columns(conn, "customer_features") == [("cutoff_date", "DATE"), ("old", "INTEGER")]
    assert conn.execute("SELECT * FROM customer_features").fetchall() == [(date(2022, 1, 1), 1)]


@pytest.mark.parametrize("table", ["missing", "empty"])
def test_reference_check_fails_rather_than_raises_without_stored_features(tmp_path, table):
    from ml_assets.lib.warehouse import warehouse_resource
    from ml_assets.snapshots.checks import customer_features_match_reference

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE transactions (customer_id VARCHAR, order_ts TIMESTAMP)")
        if table == "empty":
            conn.execute("CREATE TABLE customer_features (cutoff_date DATE, customer_id VARCHAR)")
    result = customer_features_match_reference(warehouse=warehouse_resource(str(path)))
    assert result.passed is False
    assert "customer_features" in result.description and "materialize" in result.description
    assert result.metadata["customers_compared"].value == 0


@pytest.mark.parametrize(
    "labels, features, duplicates, one_sided",
    [
        # the same keys once each: passes
        ([("2022-01-01", "a"), ("2022-01-01", "b")], [("2022-01-01", "a"), ("2022-01-01", "b")], 0, 0),
        # a key twice in one table (a), and a key twice in both (b, counted once per table)
        ([("2022-01-01", "a"), ("2022-01-01", "a"), ("2022-01-01", "b"), ("2022-01-01", "b")],
         [("2022-01-01", "a"), ("2022-01-01", "b"), ("2022-01-01", "b")], 3, 0),
        # a customer in only one table, on either side, at a cutoff both hold
        ([("2022-01-01", "a"), ("2022-01-01", "b")], [("2022-01-01", "a"), ("2022-01-01", "c")], 0, 2),
        # a key three times: two rows beyond its first
        ([("2022-01-01", "a")] * 3, [("2022-01-01", "a")], 2, 0),
        # a cutoff only one table holds is not compared (it may be materialized alone),
        # but its duplicates still count
        ([("2022-01-01", "a"), ("2022-02-01", "a"), ("2022-02-01", "a")], [("2022-01-01", "a")], 1, 0),
        # cutoffs 64 months apart, or in the same month on other days, are different keys
        ([("2017-01-01", "a"), ("2022-05-01", "a"), ("2022-05-15", "a")],
         [("2017-01-01", "a"), ("2022-05-01", "a"), ("2022-05-15", "a")], 0, 0),
        ([("2017-01-01", "a"), ("2022-05-15", "a")], [("2022-05-01", "a"), ("2022-05-15", "a")], 0, 0),
        ([("2017-01-01", "a"), ("2022-05-01", "a"), ("2022-05-15", "a")],
         [("2017-01-01", "b"), ("2022-05-01", "a"), ("2022-05-15", "a")], 0, 2),
        # nothing stored yet
        ([], [], 0, 0),
    ],
)
def test_key_check_counts_duplicate_rows_and_one_sided_keys(tmp_path, labels, features, duplicates, one_sided):
    from ml_assets.lib.warehouse import warehouse_resource
    from ml_assets.snapshots.checks import snapshots_one_row_per_customer_and_cutoff

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        for table, keys in (("training_snapshots", labels), ("customer_features", features)):
            conn.execute(f"CREATE TABLE {table} (cutoff_date DATE, customer_id VARCHAR, x DOUBLE)")
            for cutoff, customer in keys:
                conn.execute(f"INSERT INTO {table} VALUES (?, ?, 1)", [cutoff, customer])
    result = snapshots_one_row_per_customer_and_cutoff(warehouse=warehouse_resource(str(path)))
    assert result.metadata["duplicate_rows"].value == duplicates
    assert result.metadata["keys_in_only_one_table"].value == one_sided
    assert result.passed is (duplicates == 0 and one_sided == 0)


def test_snapshots_written_in_customer_chunks_equal_the_snapshots_written_in_one():
    from ml_assets.snapshots.assets import customer_chunks, write_features, write_labels
    from ml_assets.snapshots.btyd_features import FIT_SAMPLE
    from ml_assets_tests.factories import monthly

    cutoffs = monthly("2021-06-01", "2023-06-01")
    tables = {}
    for rows in (10**9, 150):  # everything at once; then a few customers per chunk
        conn = warehouse_with(random_transactions(n_customers=300, seed=5))
        last_event = validate_cutoffs(conn, cutoffs)
        settings = Settings(snapshot_batch_rows=rows)
        prepare_state(conn, cutoffs, label_horizons(settings))
        chunks = customer_chunks(conn, cutoffs, rows)
        fits = write_features(conn, cutoffs, chunks, settings)
        write_labels(conn, cutoffs, chunks, settings, last_event)
        tables[rows] = (
            chunks,
            conn.execute("SELECT * FROM customer_features ORDER BY ALL").df(),
            conn.execute("SELECT * FROM training_snapshots ORDER BY ALL").df(),
            conn.execute("SELECT * FROM btyd_fits ORDER BY ALL").df(),
            fits,
        )
    (one, *whole), (many, *batched) = tables[10**9], tables[150]
    assert len(one) == 1 and len(many) > 20
    # the chunks cover every customer once, in key order
    assert [lo for lo, _ in many[1:]] == [hi + 1 for _, hi in many[:-1]]
    assert (many[0][0], many[-1][1]) == one[0]
    for left, right in zip(whole[:3], batched[:3]):
        assert len(left) > 0
        pd.testing.assert_frame_equal(left, right)
    assert whole[3] == batched[3]


def test_the_btyd_fit_of_a_cutoff_sees_its_whole_population(monkeypatch):
    # fitted first on a sample spread over every customer, not on one chunk's
    from ml_assets.snapshots import btyd_features
    from ml_assets.snapshots.btyd_features import add_btyd_features, fit_population
    from ml_assets_tests.factories import monthly

    monkeypatch.setattr(btyd_features, "FIT_SAMPLE", 120)  # fewer than the population
    cutoffs = monthly("2022-01-01", "2022-06-01")
    conn = warehouse_with(random_transactions(n_customers=300, seed=2))
    prepare_state(conn, cutoffs)
    fits = fit_population(conn, cutoffs)
    stage_features(conn, cutoffs)
    assert add_btyd_features(conn, 90, 365) == list(fits.values())
    stage_features(conn, cutoffs, keys=(1, 60))  # one chunk alone fits differently
    assert add_btyd_features(conn, 90, 365) != list(fits.values())


def _staged_bytes(conn) -> int:
    """Bytes DuckDB holds for temp tables, in memory or spilled."""
    return conn.execute("SELECT sum(memory_usage_bytes + temporary_storage_bytes) "
                        "FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'").fetchone()[0]


def test_each_batch_frees_the_staging_of_the_one_before(tmp_path):
    # DuckDB keeps a replaced temp table until the transaction that replaced it
    # ends: staging every batch inside the run's one transaction held the whole
    # run in memory (and spilled it to disk) on large logs.

    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))  # the run's table on disk
    cutoffs = [date(2022, m, 1) for m in range(1, 9)]
    months = dg.MonthlyPartitionsDefinition(start_date="2022-01-01", end_date="2022-09-01")
    held = []

    def stage(batch):
        conn.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT $c::DATE AS cutoff_date, "
                     "range AS customer_id, random() AS x FROM range(300000)", {"c": batch[0]})
        held.append(_staged_bytes(conn))

    replace_cutoffs_in_batches(conn, "features", "staged", cutoffs, [[c] for c in cutoffs], stage,
                               months)
    assert held[0] > 0
    assert max(held) < 1.5 * held[0], held  # flat, not growing batch after batch
    assert conn.execute("SELECT count(*), count(DISTINCT cutoff_date) FROM features").fetchone() == (
        8 * 300000, 8)


def test_a_run_that_fails_in_a_later_batch_leaves_the_table_as_it_was():

    conn = duckdb.connect(":memory:")
    conn.execute("CREATE TABLE features AS SELECT DATE '2022-01-01' AS cutoff_date, 1 AS x")
    months = dg.MonthlyPartitionsDefinition(start_date="2022-01-01", end_date="2022-03-01")

    def stage(batch):
        if batch[0].month == 2:
            raise RuntimeError("batch two fails")
        conn.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT $c::DATE AS cutoff_date, "
                     "2 AS x", {"c": batch[0]})

    with pytest.raises(RuntimeError, match="batch two"):
        replace_cutoffs_in_batches(conn, "features", "staged", [date(2022, 1, 1), date(2022, 2, 1)],
                                   [[date(2022, 1, 1)], [date(2022, 2, 1)]], stage, months)
    assert conn.execute("SELECT * FROM features").fetchall() == [(date(2022, 1, 1), 1)]


def test_a_run_over_some_cutoffs_keeps_the_others():

    conn = duckdb.connect(":memory:")
    conn.execute("CREATE TABLE features AS SELECT unnest([DATE '2022-01-01', DATE '2022-02-01']) "
                 "AS cutoff_date, 1 AS x")
    months = dg.MonthlyPartitionsDefinition(start_date="2022-01-01", end_date="2022-03-01")

    def stage(batch):
        conn.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT $c::DATE AS cutoff_date, "
                     "2 AS x", {"c": batch[0]})

    replace_cutoffs_in_batches(conn, "features", "staged", [date(2022, 2, 1)], [[date(2022, 2, 1)]],
                               stage, months)
    assert conn.execute("SELECT * FROM features ORDER BY 1").fetchall() == [
        (date(2022, 1, 1), 1), (date(2022, 2, 1), 2)]
    # covering every stored cutoff, the run's table takes the table's place
    replace_cutoffs_in_batches(conn, "features", "staged", [date(2022, 1, 1), date(2022, 2, 1)],
                               [[date(2022, 1, 1)], [date(2022, 2, 1)]], stage, months)
    assert conn.execute("SELECT * FROM features ORDER BY 1").fetchall() == [
        (date(2022, 1, 1), 2), (date(2022, 2, 1), 2)]
    assert not table_exists(conn, "features_run")
