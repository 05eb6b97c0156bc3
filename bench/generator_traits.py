"""Behaviour traits of a transaction log, side by side with the bundled sample.

    python bench/generator_traits.py --cdnow /tmp/cdnow/cdnow.csv [--log old=path.csv ...]

Prints one column per log: the CDNOW master log (optional, built with
``../shared/realdata/cdnow.py``; never committed), any other logs given with
``--log name=path``, and the current generator's default sample (generated in
memory, without malformed rows). No test needs this script.

CDNOW follows one quarter's recruits for 15 to 18 months; the sample recruits
over four years. So every per-customer statistic uses the same window: each
customer's first ``WINDOW_DAYS`` days, for customers observed that long.
Purchases are a customer's positive rows summed per day (CDNOW has several rows
for one order day); refunds are left out. Seasonality (last rows) needs several
years, so it is blank for CDNOW.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WINDOW_DAYS = 456  # CDNOW's shortest history: 1997-03-31 to 1998-06-30
ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def load(path: str) -> pd.DataFrame:
    """Clean purchases of a CSV log: customer, day, amount (one row per customer-day)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    return purchases(raw)


def purchases(raw: pd.DataFrame) -> pd.DataFrame:
    ts = pd.to_datetime(raw["order_ts"].str[:10], format="%Y-%m-%d", errors="coerce")
    amount = pd.to_numeric(raw["amount"], errors="coerce")
    ok = ts.notna() & (ts.dt.year < 2099) & amount.gt(0) & raw["customer_id"].ne("")
    frame = pd.DataFrame({"customer_id": raw["customer_id"][ok], "day": ts[ok], "amount": amount[ok]})
    return frame.groupby(["customer_id", "day"], as_index=False)["amount"].sum()


def windowed(frame: pd.DataFrame) -> pd.DataFrame:
    """Each customer's purchases in their first WINDOW_DAYS, for customers observed that long."""
    first = frame.groupby("customer_id")["day"].transform("min")
    age = (frame["day"] - first).dt.days
    observed = first <= frame["day"].max() - pd.Timedelta(days=WINDOW_DAYS - 1)
    out = frame[observed & (age < WINDOW_DAYS)].copy()
    out["age"] = age[out.index]
    return out


def traits(frame: pd.DataFrame) -> dict[str, float]:
    w = windowed(frame)
    counts = w.groupby("customer_id").size()
    gaps = w.sort_values(["customer_id", "day"]).groupby("customer_id")["age"].diff().dropna()
    value = w["amount"]
    revenue = w.groupby("customer_id")["amount"].sum().sort_values(ascending=False)
    top = lambda share: revenue.head(max(1, int(len(revenue) * share))).sum() / revenue.sum()  # noqa: E731
    month = (w["age"] // 30).astype(int)
    active = w.assign(m=month).drop_duplicates(["customer_id", "m"]).groupby("m").size() / len(counts)
    out = {
        "customers observed a full window": len(counts),
        "purchases per customer, mean": counts.mean(),
        "repeat share (2+ purchase days)": (counts > 1).mean(),
        "purchases per customer, p99": counts.quantile(0.99),
        "gap days p10": gaps.quantile(0.10),
        "gap days p50": gaps.quantile(0.50),
        "gap days p90": gaps.quantile(0.90),
        "gap CV": gaps.std() / gaps.mean(),
        "order value p50": value.median(),
        "order value p90/p50": value.quantile(0.9) / value.median(),
        "order value p99/p50": value.quantile(0.99) / value.median(),
        "order value CV": value.std() / value.mean(),
        "revenue share top 1%": top(0.01),
        "revenue share top 10%": top(0.10),
    }
    for m in (1, 2, 3, 6, 9, 12, 14):
        out[f"active in month {m} of life"] = active.get(m, 0.0)
    out.update(_rate_change(w))
    out.update(_seasonality(frame))
    return out


def _rate_change(w: pd.DataFrame) -> dict[str, float]:
    """Within-customer changes: burstiness of gaps, and long lapses that end."""
    w = w.sort_values(["customer_id", "day"])
    gap = w.groupby("customer_id")["age"].diff()
    per = pd.DataFrame({"c": w["customer_id"], "gap": gap}).dropna().groupby("c")["gap"]
    cv = (per.std() / per.mean())[per.size() >= 9]  # customers with 10+ purchases
    long_gap = (gap >= 180).groupby(w["customer_id"]).any()
    repeaters = w.groupby("customer_id").size() > 1
    return {
        "within-customer gap CV, median (10+ purchases)": cv.median() if len(cv) else np.nan,
        "repeaters with a 180+ day gap then a purchase": long_gap[repeaters].mean(),
    }


def _seasonality(frame: pd.DataFrame) -> dict[str, float]:
    """Monthly active share of the customers acquired before each year, Dec over Jul."""
    first = frame.groupby("customer_id")["day"].min()
    years = range(first.min().year + 1, frame["day"].max().year + 1)
    ratios = []
    for year in years:
        base = first[first < pd.Timestamp(year, 1, 1)].index
        if len(base) < 100 or frame["day"].max() < pd.Timestamp(year, 12, 31):
            continue
        mine = frame[frame["customer_id"].isin(base) & (frame["day"].dt.year == year)]
        months = mine.groupby(mine["day"].dt.month)["customer_id"].nunique()
        ratios.append(months.get(12, 0) / max(months.get(7, 0), 1))
    return {"active Dec / active Jul (established base)": float(np.mean(ratios)) if ratios else np.nan}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--cdnow", help="CDNOW CSV from ../shared/realdata/cdnow.py")
    parser.add_argument("--log", action="append", default=[], help="name=path of another log")
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args(argv)
    from ml_assets.ingest.sample_data import generate_transactions

    columns = {}
    if args.cdnow:
        columns["CDNOW"] = traits(load(args.cdnow))
    for item in args.log:
        name, path = item.split("=", 1)
        columns[name] = traits(load(path))
    columns["generator"] = traits(purchases(generate_transactions(args.customers, malformed=False)))
    table = pd.DataFrame(columns)
    print(table.to_string(float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"))


if __name__ == "__main__":
    main()
