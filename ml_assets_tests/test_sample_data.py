"""The deterministic sample log: shape, defects, behaviour, drift and chunked writing."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml_assets.ingest import sample_data
from ml_assets.ingest.sample_data import (
    COLUMNS,
    ensure_sample,
    generate_transactions,
    write_sample,
)

ISO = "%Y-%m-%d %H:%M:%S"
N = 1500


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    return generate_transactions(N, seed=3)


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return generate_transactions(N, seed=3, malformed=False)


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    """A larger clean log, for traits that need a few thousand customers."""
    frame = generate_transactions(6000, seed=3, malformed=False)
    return pd.DataFrame({"customer_id": frame["customer_id"],
                         "ts": pd.to_datetime(frame["order_ts"], format=ISO),
                         "amount": frame["amount"].astype(float)})


def _parsed(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "ts": pd.to_datetime(frame["order_ts"], format=ISO, errors="coerce"),
            "amount": pd.to_numeric(frame["amount"], errors="coerce"),
            "order_id": frame["order_id"],
        }
    )


def _defects(frame: pd.DataFrame) -> dict[str, pd.Series]:
    parsed = _parsed(frame)
    exact = frame.duplicated(keep="first")
    return {
        "blank_customer": frame["customer_id"] == "",
        "bad_timestamp": parsed["ts"].isna(),
        "bad_amount": parsed["amount"].isna(),
        "future_timestamp": parsed["ts"].dt.year >= 2099,
        "exact_duplicate": exact,
        "reused_order_id": frame["order_id"].duplicated(keep=False) & ~frame.duplicated(keep=False),
    }


def test_same_arguments_give_identical_output_and_seed_matters(messy, tmp_path):
    again = generate_transactions(N, seed=3)
    pd.testing.assert_frame_equal(messy, again)
    other = generate_transactions(N, seed=4)
    assert not other["order_ts"].head(200).equals(messy["order_ts"].head(200))

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_sample(first, n_customers=300, seed=3)
    write_sample(second, n_customers=300, seed=3)
    assert first.read_bytes() == second.read_bytes()


def test_clean_rows_have_the_export_schema_and_parse(clean):
    assert list(clean.columns) == COLUMNS
    assert all(pd.api.types.is_string_dtype(clean[c]) for c in COLUMNS)
    assert clean["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert clean["order_ts"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert clean["amount"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert clean["order_id"].is_unique
    ts = pd.to_datetime(clean["order_ts"], format=ISO)
    assert ts.is_monotonic_increasing
    assert ts.min() >= pd.Timestamp("2021-01-01") and ts.max() < pd.Timestamp("2025-01-01")
    quantity = clean["quantity"].astype(int)
    amount = clean["amount"].astype(float)
    assert (quantity != 0).all()
    assert (np.sign(quantity) == np.sign(amount)).all()
    # every customer id belongs to the requested range and every customer bought
    assert clean["customer_id"].nunique() == N
    assert clean["customer_id"].max() == f"C{N - 1:06d}"


def test_malformed_rows_cover_every_kind_and_stay_rare(messy, clean):
    defects = _defects(messy)
    counts = {kind: int(mask.sum()) for kind, mask in defects.items()}
    assert all(count >= 1 for count in counts.values()), counts
    bad = pd.concat(defects.values(), axis=1).any(axis=1)
    assert 0.001 <= bad.mean() <= 0.004, counts

    assert not any(mask.any() for mask in _defects(clean).values())
    # Defects replace or repeat real rows: every good row is a real one, and
    # only the few rows that were damaged in place are missing.
    good = messy[~bad & ~messy["order_id"].duplicated(keep=False)]
    real = clean.set_index("order_id")
    assert good.set_index("order_id").equals(real.loc[good["order_id"]])
    assert len(clean) - len(good) <= 0.004 * len(clean)


def test_refunds_are_negative_later_and_follow_a_purchase(clean):
    parsed = _parsed(clean)
    refunds = parsed[parsed["amount"] < 0]
    orders = parsed[parsed["amount"] > 0]
    assert 0.01 <= len(refunds) / len(orders) <= 0.05
    assert (clean.loc[refunds.index, "quantity"].astype(int) < 0).all()
    pairs = refunds.merge(orders, on="customer_id", suffixes=("", "_order"))
    source = pairs[
        (pairs["ts_order"] < pairs["ts"])
        & (pairs["ts"] - pairs["ts_order"] <= pd.Timedelta(days=40))
        & (pairs["amount_order"] >= -pairs["amount"])
    ]
    assert set(source["order_id"]) == set(refunds["order_id"])


def test_december_and_weekends_are_busier(clean):
    parsed = _parsed(clean)
    ts = parsed.loc[parsed["amount"] > 0, "ts"]

    def per_day(first: str, stop: str) -> float:
        return ((ts >= first) & (ts < stop)).sum() / (pd.Timestamp(stop) - pd.Timestamp(first)).days

    # against the summers either side, so the growing customer base cancels out
    for year in (2021, 2022, 2023):
        summers = per_day(f"{year}-06-01", f"{year}-08-01") + per_day(f"{year + 1}-06-01", f"{year + 1}-08-01")
        assert per_day(f"{year}-12-01", f"{year + 1}-01-01") > 1.3 * summers / 2
    days = pd.Series(pd.date_range("2021-01-01", "2024-12-31")).dt.day_of_week.value_counts()
    rate = ts.dt.day_of_week.value_counts() / days
    assert rate[[5, 6]].mean() > 1.15 * rate[[0, 1, 2, 3]].mean()


def test_customers_differ_far_more_than_poisson(clean):
    parsed = _parsed(clean)
    orders = parsed[parsed["amount"] > 0]
    counts = orders.groupby("customer_id").size()
    poisson_cv = 1 / np.sqrt(counts.mean())
    assert counts.std() / counts.mean() > 4 * poisson_cv
    assert (counts == 1).mean() > 0.05  # some never come back

    mean_spend = orders.groupby("customer_id")["amount"].mean()
    assert mean_spend.skew() > 1.0
    assert mean_spend.quantile(0.9) > 2.5 * mean_spend.quantile(0.1)


def test_drift_lowers_new_customers_frequency_and_spares_the_past():
    kwargs = dict(n_customers=2000, seed=5)
    before = generate_transactions(**kwargs)
    after = generate_transactions(**kwargs, drift_start="2023-01-01")

    def early(frame):
        ts = pd.to_datetime(frame["order_ts"], format=ISO, errors="coerce")
        return frame[ts < "2023-01-01"].reset_index(drop=True)

    assert len(early(before)) > 5000
    pd.testing.assert_frame_equal(early(before), early(after))
    assert not before.equals(after)

    def first_year_of_2023_recruits(frame):
        parsed = _parsed(frame)
        parsed = parsed[parsed["ts"].notna() & (parsed["ts"].dt.year < 2099) & (parsed["customer_id"] != "")]
        orders = parsed[parsed["amount"] > 0]
        first = orders.groupby("customer_id")["ts"].transform("min")
        recruits = orders[(first >= "2023-01-01") & (first < "2024-01-01")]
        window = recruits[recruits["ts"] < first[recruits.index] + pd.Timedelta(days=365)]
        return len(window) / recruits["customer_id"].nunique(), window["amount"].mean()

    frequency_before, spend_before = first_year_of_2023_recruits(before)
    frequency_after, spend_after = first_year_of_2023_recruits(after)
    assert frequency_after < 0.75 * frequency_before
    assert spend_after < 0.9 * spend_before


def test_chunked_write_matches_one_chunk_and_the_frame(tmp_path):
    kwargs = dict(n_customers=1200, seed=11, first_customer=3000)
    whole, pieces = tmp_path / "whole.csv", tmp_path / "pieces.csv"
    summary = write_sample(whole, chunk_customers=10_000, **kwargs)
    write_sample(pieces, chunk_customers=450, **kwargs)
    assert whole.read_bytes() == pieces.read_bytes()

    frame = generate_transactions(**kwargs)
    written = pd.read_csv(whole, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(written, frame, check_dtype=False)
    assert summary["rows"] == len(frame) and summary["customers"] == 1200
    assert frame["customer_id"].replace("", np.nan).dropna().between("C003000", "C004199").all()

    parquet = tmp_path / "pieces.parquet"
    write_sample(parquet, chunk_customers=450, **kwargs)
    conn = duckdb.connect()
    types = {row[0]: row[1] for row in conn.sql(f"DESCRIBE SELECT * FROM '{parquet}'").fetchall()}
    from_parquet = conn.sql(f"SELECT * FROM '{parquet}'").df().fillna({"customer_id": ""})
    conn.close()
    assert types == {c: "VARCHAR" for c in COLUMNS}
    pd.testing.assert_frame_equal(from_parquet, frame, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pieces.csv", "pieces.parquet", "whole.csv"]


def test_a_part_of_the_population_is_the_same_as_in_the_whole(clean):
    part = generate_transactions(300, seed=3, malformed=False, first_customer=1000)
    ids = clean["customer_id"].between("C001000", "C001299")
    pd.testing.assert_frame_equal(part, clean[ids].reset_index(drop=True))


def test_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "log.csv"
    with pytest.raises(ValueError, match="start='someday'"):
        write_sample(target, n_customers=50, start="someday")
    with pytest.raises(ValueError, match=r"\.csv, \.csv\.gz or \.parquet"):
        write_sample(tmp_path / "log.xlsx", n_customers=50)
    with pytest.raises(TypeError, match="unknown arguments"):
        write_sample(target, n_customers=50, customers=50)
    assert list(tmp_path.iterdir()) == []


def test_ensure_sample_writes_once_then_reuses(tmp_path, monkeypatch):
    real = sample_data.write_sample
    calls = []
    monkeypatch.setattr(sample_data, "write_sample", lambda p: calls.append(p) or real(p, n_customers=40))
    target = tmp_path / "sample" / "transactions.csv"
    assert ensure_sample(target) == target and len(calls) == 1
    content = target.read_bytes()
    assert ensure_sample(str(target)) == target and len(calls) == 1
    assert target.read_bytes() == content


def test_command_line_prints_the_summary(tmp_path, capsys):
    out = tmp_path / "cli.csv"
    sample_data.main(["--customers", "100", "--out", str(out), "--seed", "2", "--no-malformed",
                      "--drift-start", "2024-01-01"])
    summary = json.loads(capsys.readouterr().out)
    frame = generate_transactions(100, seed=2, malformed=False, drift_start="2024-01-01")
    assert summary["rows"] == len(frame) and summary["path"] == str(out)
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)


# --- behaviour traits a buy-till-you-die process does not have -------------------------
# Thresholds sit between what the previous generator (one gamma rate and a
# dropout coin per customer) measured and what this one measures.


def _orders(purchases: pd.DataFrame) -> pd.DataFrame:
    return purchases[purchases["amount"] > 0]


def _first_purchase(purchases: pd.DataFrame) -> pd.Series:
    return _orders(purchases).groupby("customer_id")["ts"].min()


def test_lapsed_customers_come_back_and_buy_again(purchases):
    # Purchase days of customers with 6+ of them: a gap of 270+ days with at
    # least 3 purchase days before it and 3 after. Rare at a constant rate
    # (a customer buying that often seldom waits that long); common when
    # customers lapse and reactivate.
    orders = _orders(purchases).assign(day=lambda f: f["ts"].dt.floor("D"))
    orders = orders.drop_duplicates(["customer_id", "day"]).sort_values(["customer_id", "day"])
    by = orders.groupby("customer_id")
    gap, rank, size = by["day"].diff().dt.days, by.cumcount(), by["day"].transform("size")
    back = ((gap >= 270) & (rank >= 3) & (size - rank >= 3)).groupby(orders["customer_id"]).any()
    frequent = (size >= 6).groupby(orders["customer_id"]).first()
    assert frequent.sum() > 1000
    assert back[frequent].mean() > 0.08  # previous generator: 0.016


def test_purchase_rates_dip_for_a_year_and_recover(purchases):
    # Customers with 4+ purchases in 2022 who still buy in 2024 (2+): the share
    # whose 2023 has at most a quarter of their 2022 purchases. At a constant
    # or slowly fading rate that is a few percent.
    orders = _orders(purchases)
    counts = orders.groupby(["customer_id", orders["ts"].dt.year]).size().unstack(fill_value=0)
    kept = counts[(counts[2022] >= 4) & (counts[2024] >= 2)]
    assert len(kept) > 300
    assert (kept[2023] <= kept[2022] / 4).mean() > 0.08  # previous generator: 0.03 to 0.04


def test_a_small_tail_of_heavy_buyers_holds_much_of_the_revenue(purchases):
    net = purchases.groupby("customer_id")["amount"].sum()
    top = net[net >= net.quantile(0.99)].index
    assert net[top].sum() / net.sum() > 0.2  # previous generator: 0.16; CDNOW: 0.15
    orders = _orders(purchases)
    count = orders.groupby("customer_id").size()
    value = orders.groupby("customer_id")["amount"].mean()
    # the top buyers both buy far more often and spend more per order
    assert count[top].median() > 18 * count.median()  # previous generator: 14x
    assert value[top].median() > 2 * value.median()
    assert orders["amount"].quantile(0.99) > 6.5 * orders["amount"].median()  # previous: 6.1


def _repeat_within_180_days(purchases: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Customers acquired before 2024-06, and whether each bought again within
    180 days of the first purchase (after its first day)."""
    orders = _orders(purchases)
    first = _first_purchase(purchases)
    since = orders["ts"] - orders["customer_id"].map(first)
    back = set(orders.loc[(since > pd.Timedelta(days=1)) & (since < pd.Timedelta(days=180)), "customer_id"])
    first = first[first < "2024-06-01"]
    return first, pd.Series(first.index.isin(back), index=first.index)


def test_acquisition_cohorts_differ_in_quality(purchases):
    first, repeat = _repeat_within_180_days(purchases)
    by_month = repeat.groupby(first.dt.strftime("%Y-%m"))
    share, size = by_month.mean(), by_month.size()
    overall = repeat.mean()
    # Monthly cohorts' repeat shares spread far more than sampling alone would
    # (dispersion 1 if every month brought the same kind of customer).
    dispersion = ((share - overall) ** 2 / (overall * (1 - overall) / size)).mean()
    assert dispersion > 3.5  # previous generator: 1.7 to 1.9; this one 5.6 to 9.4 over seeds


def test_season_moves_the_active_share_and_the_churn_rate(purchases):
    orders = _orders(purchases)
    first = _first_purchase(purchases)
    for year in (2022, 2023):
        base = first[first < f"{year}-01-01"].index
        mine = orders[orders["customer_id"].isin(base) & (orders["ts"].dt.year == year)]
        active = mine.groupby(mine["ts"].dt.month)["customer_id"].nunique()
        assert active[12] > 1.35 * active[7]  # previous generator: 0.9 to 1.2

    def churn_rate(cutoff: str) -> float:
        at = pd.Timestamp(cutoff)
        year_before = orders["ts"].between(at - pd.Timedelta(days=365), at, inclusive="left")
        window = orders["ts"].between(at, at + pd.Timedelta(days=90), inclusive="left")
        recent, later = orders.loc[year_before, "customer_id"], orders.loc[window, "customer_id"]
        return 1 - np.isin(recent.unique(), later.unique()).mean()

    # cutoffs before the summer lull against cutoffs before the holidays
    swing = np.mean([churn_rate(f"{y}-06-01") - churn_rate(f"{y}-10-01") for y in (2022, 2023)])
    assert swing > 0.07  # previous generator: 0.04 to 0.05; this one 0.09 to 0.11 over seeds
