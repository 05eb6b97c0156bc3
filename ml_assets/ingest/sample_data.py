"""Deterministic sample transaction log: the project's bundled default data.

A non-contractual customer population in the spirit of BG/NBD and
gamma-gamma, with structure a learned model can use beyond them:

- customers arrive over the whole history, faster as time goes on, and more
  around the holidays; each makes a first purchase on arrival;
- purchase rates are gamma distributed; after every purchase a customer may
  drop out for good (beta-distributed probability), so many churn silently.
  A loyal segment rarely drops out, a fading segment buys less and less as it
  ages, holiday-season recruits and frequent refunders drop out more;
- spend per order is gamma around a per-customer gamma mean, which rises a
  little with the purchase rate;
- weekends and November/December are busier, summer is quieter;
- a few percent of orders are refunded days later as a negative row;
- optionally (``malformed=True``) a few real-log defects: blank customer ids,
  unparseable timestamps and amounts, year-2099 timestamps, exact duplicate
  rows and order ids reused with different content;
- optionally (``drift_start``) a new acquisition channel from that date whose
  customers buy less often, spend less and drop out sooner.

Customers are generated in fixed blocks, each with its own random streams, so
the output does not depend on how a caller chunks the customers, and each
stream draws its customer's events in order of acquisition, so injecting
drift leaves every row before ``drift_start`` unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

COLUMNS = ["customer_id", "order_ts", "amount", "order_id", "quantity"]

_BLOCK = 2048  # customers per random-stream block; fixed so chunking cannot change output
_MAX_ORDERS = 2000  # per customer; with refunds stays below _ROWS_PER_CUSTOMER
_ROWS_PER_CUSTOMER = 4096  # order-id space per customer
_ID_MASK = (1 << 40) - 1
_MAX_CUSTOMERS = (_ID_MASK + 1) // _ROWS_PER_CUSTOMER  # keeps order numbers unique
_ID_MULT = np.uint64(0x9E3779B97 | 1)  # odd, so the order-id scramble is a bijection mod 2**40
_ID_XOR = np.uint64(0x5DEECE66D)
_MALFORMED_RATE = 0.002  # per row, split evenly over the six kinds below
_CLEAN, _BLANK_CUSTOMER, _BAD_TS, _BAD_AMOUNT, _FUTURE_TS, _DUPLICATE, _REUSED_ID = range(7)
_EPOCH = date(1970, 1, 1)

# Monday..Sunday, and the hour-of-day profile (busy lunchtime and evening).
_WEEKDAY = np.array([0.93, 0.90, 0.92, 0.97, 1.05, 1.28, 1.22])
_HOURLY = np.array(
    [0.30, 0.18, 0.10, 0.08, 0.08, 0.15, 0.35, 0.65, 0.95, 1.15, 1.35, 1.55,
     1.75, 1.60, 1.40, 1.30, 1.40, 1.60, 1.90, 2.20, 2.30, 2.00, 1.40, 0.75]
)
_HOURLY_CDF = np.cumsum(_HOURLY) / _HOURLY.sum()

# Static DuckDB expressions (no values interpolated) that turn the numeric rows
# into the text a CSV export would hold, malformed kinds included.
_TS = "make_timestamp(s * 1000000)"
_ISO = "'%Y-%m-%d %H:%M:%S'"
_MONEY = (
    "(CASE WHEN cents < 0 THEN '-' ELSE '' END) || (abs(cents) // 100)::VARCHAR"
    " || '.' || lpad((abs(cents) % 100)::VARCHAR, 2, '0')"
)
_FORMAT = [
    f"CASE WHEN kind = {_BLANK_CUSTOMER} THEN NULL ELSE printf('C%06d', c) END AS customer_id",
    f"""CASE WHEN kind = {_BAD_TS} THEN (CASE variant WHEN 0 THEN 'not-a-date'
            WHEN 1 THEN strftime({_TS}, '%Y-13-45 %H:%M:%S')
            ELSE strftime({_TS}, '%Y-02-30 %H:%M:%S') END)
        WHEN kind = {_FUTURE_TS} THEN strftime({_TS} + to_years(2099 - year({_TS})), {_ISO})
        ELSE strftime({_TS}, {_ISO}) END AS order_ts""",
    f"""CASE WHEN kind = {_BAD_AMOUNT} THEN (CASE variant WHEN 0 THEN 'N/A'
            WHEN 1 THEN (abs(cents) // 100)::VARCHAR || ',' || lpad((abs(cents) % 100)::VARCHAR, 2, '0') || '.5'
            ELSE '$' || {_MONEY} END)
        ELSE {_MONEY} END AS amount""",
    "'O' || lpad(oid::VARCHAR, 13, '0') AS order_id",
    "qty::VARCHAR AS quantity",
]
_ORDER = "t, c, k"
_OPTIONS = {"start", "end", "seed", "drift_start", "drift_share", "malformed", "first_customer"}


def generate_transactions(
    n_customers: int = 20_000,
    start: str = "2021-01-01",
    end: str = "2024-12-31",
    seed: int = 7,
    drift_start: str | None = None,
    drift_share: float = 0.6,
    malformed: bool = True,
    first_customer: int = 0,
) -> pd.DataFrame:
    """The sample log for customers ``first_customer .. first_customer + n_customers - 1``.

    Returns columns ``customer_id, order_ts, amount, order_id, quantity``, all
    text as in a CSV export, sorted by event time (malformed rows sit where
    their original event would). Same arguments give the same frame.
    """
    rows = _numeric_rows(n_customers, start, end, seed, drift_start, drift_share, malformed, first_customer)
    conn = duckdb.connect()
    try:
        frame = conn.from_df(rows).order(_ORDER).project(", ".join(_FORMAT)).df()
    finally:
        conn.close()
    frame["customer_id"] = frame["customer_id"].fillna("")
    return frame


def write_sample(
    path: str | Path, n_customers: int = 20_000, chunk_customers: int = 250_000, **kwargs
) -> dict:
    """Write the sample log to ``path`` as CSV (``.csv``, ``.csv.gz``) or Parquet
    (``.parquet``), every column text, generating ``chunk_customers`` at a time.

    The rows are staged in DuckDB (which spills to disk beside ``path``), sorted
    once, and written to a temporary file that is renamed onto ``path`` only when
    complete. ``kwargs`` are those of :func:`generate_transactions`. Returns
    ``{"path", "rows", "customers", "seconds"}``.
    """
    path = Path(path)
    writer = _writer_for(path)
    if n_customers < 1 or chunk_customers < 1:
        raise ValueError(f"n_customers and chunk_customers must be at least 1, got {n_customers} "
                         f"and {chunk_customers}.")
    unknown = set(kwargs) - _OPTIONS
    if unknown:
        raise TypeError(f"write_sample got unknown arguments {sorted(unknown)}; "
                        "use those of generate_transactions.")
    first = kwargs.pop("first_customer", 0)
    began = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    spill = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".spill", dir=path.parent)
    conn = duckdb.connect(config={"temp_directory": spill, "memory_limit": "1GB", "threads": 2})
    try:
        for offset in range(0, n_customers, chunk_customers):
            size = min(chunk_customers, n_customers - offset)
            chunk = _numeric_rows(size, first_customer=first + offset, **kwargs)
            relation = conn.from_df(chunk)
            if offset == 0:
                relation.create("sample_rows")
            else:
                relation.insert_into("sample_rows")
            del chunk, relation
        table = conn.table("sample_rows")
        rows = table.aggregate("count(*)").fetchall()[0][0]
        writer(table.order(_ORDER).project(", ".join(_FORMAT)), str(tmp))
        conn.close()
        os.replace(tmp, path)
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name("tmp_" + tmp.name).unlink(missing_ok=True)  # DuckDB's own staging file
        raise
    finally:
        _remove_tree(Path(spill))
    return {"path": str(path), "rows": int(rows), "customers": int(n_customers),
            "seconds": round(time.perf_counter() - began, 2)}


def ensure_sample(path: str | Path) -> Path:
    """The bundled sample at ``path``: written with the defaults if it is not there yet."""
    path = Path(path)
    if not path.exists():
        write_sample(path)
    return path


# --- the population --------------------------------------------------------------


def _numeric_rows(
    n_customers: int,
    start: str = "2021-01-01",
    end: str = "2024-12-31",
    seed: int = 7,
    drift_start: str | None = None,
    drift_share: float = 0.6,
    malformed: bool = True,
    first_customer: int = 0,
) -> pd.DataFrame:
    """Rows as numbers: customer ``c``, unix seconds ``s``, ``cents``, ``qty``,
    scrambled order number ``oid``, defect ``kind``/``variant`` and the sort key
    ``(t, c, k)``. Whole blocks are generated, then cut to the requested range."""
    if n_customers < 1 or first_customer < 0 or first_customer + n_customers > _MAX_CUSTOMERS:
        raise ValueError(f"need n_customers >= 1, first_customer >= 0 and at most {_MAX_CUSTOMERS} "
                         f"customer numbers, got {n_customers} from {first_customer}.")
    if not 0.0 <= drift_share <= 1.0:
        raise ValueError(f"drift_share must be within [0, 1], got {drift_share}.")
    calendar = _calendar(_parse_day(start, "start"), _parse_day(end, "end"))
    drift_day = None
    if drift_start is not None:
        drift_day = (_parse_day(drift_start, "drift_start") - calendar["start"]).days
    last = first_customer + n_customers
    blocks = [
        _block_rows(block, seed, calendar, drift_day, drift_share, malformed)
        for block in range(first_customer // _BLOCK, (last - 1) // _BLOCK + 1)
    ]
    rows = {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}
    keep = (rows["c"] >= first_customer) & (rows["c"] < last)
    return pd.DataFrame({name: values[keep] for name, values in rows.items()})


def _block_rows(block, seed, calendar, drift_day, drift_share, malformed) -> dict:
    rng = _streams(seed, block)
    people = _customers(rng, block, calendar, drift_day, drift_share)
    orders = _orders(rng, people, calendar)
    rows = _with_refunds(rng, people, orders, calendar)
    return _with_defects(rng, rows) if malformed else rows


def _streams(seed: int, block: int):
    """One generator per purpose, each used for exactly one draw, so a draw's
    length cannot shift another stream."""
    return lambda purpose: np.random.default_rng([seed, block, purpose])


def _customers(rng, block, calendar, drift_day, drift_share) -> dict:
    """Per-customer traits, drawn in id order and independent of drift; drift
    only transforms them. Returned in order of acquisition."""
    n, days = _BLOCK, calendar["days"]
    acq_day = np.searchsorted(calendar["acq_cdf"], rng(1).random(n), side="right")
    acq_day = np.minimum(acq_day, days - 1)
    acq_sec = acq_day * 86_400 + _time_of_day(rng(2).random(n))
    segment = rng(3).random(n)
    loyal, fading = segment < 0.2, (segment >= 0.2) & (segment < 0.4)

    rate = np.clip(rng(4).gamma(1.0, 0.07, n), 1e-9, 1.0)  # purchases per day
    rate = np.where(fading, rate * 1.6, rate)
    dropout = np.where(loyal, rng(5).beta(1.0, 150.0, n), rng(6).beta(0.7, 14.0, n))
    tau = np.where(fading, rng(7).uniform(200.0, 900.0, n), 1e12)  # days for the rate to fall by e
    spend = rng(8).gamma(2.2, 45.0 / 2.2, n) * (rate / 0.07) ** 0.15  # mean order value
    refund = rng(9).beta(0.6, 18.0, n)

    doy = calendar["doy"][acq_day]
    holiday_recruit = doy >= 318  # from mid-November
    survive = (1 - dropout) * np.where(holiday_recruit, 0.93, 1.0) * (1 - refund)
    if drift_day is not None:
        channel = (acq_day >= drift_day) & (rng(10).random(n) < drift_share)
        rate = np.where(channel, rate * 0.25, rate)
        spend = np.where(channel, spend * 0.4, spend)
        survive = np.where(channel, survive * 0.75, survive)
    survive = np.clip(survive, 1e-6, 1 - 1e-9)
    # Purchases before dropping out, first one included: geometric by inversion
    # so every customer consumes exactly one uniform.
    purchases = 1 + np.floor(np.log1p(-rng(11).random(n)) / np.log(survive))
    purchases = np.minimum(purchases, _MAX_ORDERS).astype(np.int64)

    order = np.argsort(acq_sec, kind="stable")
    traits = dict(id=block * _BLOCK + np.arange(n), acq_day=acq_day, acq_sec=acq_sec, rate=rate,
                  tau=tau, spend=spend, refund=refund, purchases=purchases)
    return {name: values[order] for name, values in traits.items()}


def _orders(rng, people, calendar) -> dict:
    """First purchase at acquisition, then repeat purchases: a Poisson process
    (decaying for the fading segment) thinned by the season, cut at dropout.

    Returned grouped by customer, acquisition first, repeats by day."""
    days, weight, peak = calendar["days"], calendar["weight"], calendar["weight"].max()
    n = len(people["rate"])
    begin = people["acq_day"] + 1.0  # repeats start the day after acquisition
    rate, tau = people["rate"], people["tau"]
    span = np.maximum(days - begin, 0.0)
    budget = rate * tau * -np.expm1(-span / tau)  # integrated rate over the window
    count = rng(20).poisson(budget * peak)
    owner = np.repeat(np.arange(n), count)
    used = _sorted_uniforms(rng(21), count) * budget[owner]
    at = begin[owner] - tau[owner] * np.log1p(-used / (rate[owner] * tau[owner]))
    day = np.minimum(at.astype(np.int64), days - 1)
    kept = rng(22).random(owner.size) * peak < weight[day]
    owner, day = owner[kept], day[kept]
    # Same-day repeats are in random order, so cutting by this rank keeps the
    # same purchases in distribution as cutting by exact time.
    rank = np.arange(owner.size) - _group_starts(owner, n)[owner]
    alive = rank < people["purchases"][owner] - 1
    owner, day = owner[alive], day[alive]
    sec = day * 86_400 + _time_of_day(rng(23).random(owner.size))
    owner = np.concatenate([np.arange(n), owner])
    sec = np.concatenate([people["acq_sec"], sec])
    order = np.argsort(owner, kind="stable")  # merges two sorted runs
    return {"owner": owner[order], "sec": sec[order]}


def _with_refunds(rng, people, orders, calendar) -> dict:
    """Amounts and quantities for the orders, plus refund rows a few days after
    some of them, then order numbers in time order per customer."""
    owner, sec = orders["owner"], orders["sec"]
    n = owner.size
    dollars = people["spend"][owner] * rng(30).standard_gamma(4.0, n) / 4.0
    cents = np.maximum(np.rint(dollars * 100), 99).astype(np.int64)
    qty = 1 + rng(31).poisson(cents / 6000.0)
    refunded = rng(32).random(n) < people["refund"][owner]
    lag = 1 + rng(33).poisson(5.0, n)
    share = np.where(rng(34).random(n) < 0.55, 1.0, rng(35).uniform(0.1, 0.9, n))
    ref_sec = (sec // 86_400 + lag) * 86_400 + _time_of_day(rng(36).random(n))
    refunded &= ref_sec < calendar["days"] * 86_400
    ref_cents = -np.maximum(np.rint(cents * share), 1).astype(np.int64)
    ref_qty = -np.maximum(np.floor(qty * share), 1).astype(np.int64)

    owner = np.concatenate([owner, owner[refunded]])
    sec = np.concatenate([sec, ref_sec[refunded]])
    cents = np.concatenate([cents, ref_cents[refunded]])
    qty = np.concatenate([qty, ref_qty[refunded]])
    # stable, so rows tied on the key keep an order no other customer can change
    order = np.argsort((owner << 33) | (sec << 1) | (cents < 0), kind="stable")
    owner, sec, cents, qty = owner[order], sec[order], cents[order], qty[order]
    k = np.arange(owner.size) - _group_starts(owner, len(people["id"]))[owner]
    c = people["id"][owner]
    unix = sec + calendar["epoch"]
    return dict(c=c, s=unix, t=unix, cents=cents, qty=qty, oid=_order_number(c, k), k=2 * k,
                kind=np.zeros(owner.size, np.int8), variant=np.zeros(owner.size, np.int8))


def _with_defects(rng, rows) -> dict:
    """Mark a small share of rows malformed in place, and add duplicate rows
    (exact copies, and reused order ids with different content) after others."""
    n = rows["c"].size
    hit = rng(40).random(n) < _MALFORMED_RATE
    kind = np.where(hit, 1 + np.minimum((rng(41).random(n) * 6).astype(np.int8), 5), _CLEAN)
    variant = (rng(42).random(n) * 3).astype(np.int8)
    in_place = (kind >= _BLANK_CUSTOMER) & (kind <= _FUTURE_TS)
    rows["kind"] = np.where(in_place, kind, _CLEAN).astype(np.int8)
    rows["variant"] = variant

    copy = np.flatnonzero(kind >= _DUPLICATE)
    extra = {name: values[copy].copy() for name, values in rows.items()}
    extra["k"] += 1
    extra["kind"] = kind[copy].astype(np.int8)
    reused = extra["kind"] == _REUSED_ID
    shift = rng(43).integers(60, 7_200, n)[copy]
    factor = rng(44).uniform(0.5, 1.5, n)[copy]
    extra["s"] = np.where(reused, extra["s"] + shift, extra["s"])
    changed = np.maximum(np.rint(np.abs(extra["cents"]) * factor), 99).astype(np.int64)
    extra["cents"] = np.where(reused, np.sign(extra["cents"]) * changed, extra["cents"])
    return {name: np.concatenate([rows[name], extra[name]]) for name in rows}


# --- small helpers -------------------------------------------------------------


def _calendar(start: date, end: date) -> dict:
    """Day-level season weights and the acquisition distribution over the history."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}; give start <= end.")
    days = (end - start).days + 1
    if days > 36_600:
        raise ValueError(f"a history of {days} days is too long; keep start to end within 100 years.")
    dates = np.datetime64(start, "D") + np.arange(days)
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    doy = (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    yearly = (
        1.0
        + 0.70 * np.exp(-(((doy - 342) / 16.0) ** 2))  # December shopping
        + 0.45 * np.exp(-(((doy - 330) / 5.0) ** 2))  # late-November sales
        - 0.22 * np.exp(-(((doy - 198) / 32.0) ** 2))  # summer lull
    )
    weight = _WEEKDAY[weekday] * yearly
    growth = np.exp(np.log(2.5) * np.arange(days) / days)
    acq = growth * weight**0.7
    return dict(start=start, days=days, doy=doy, weight=weight, acq_cdf=np.cumsum(acq) / acq.sum(),
                epoch=(start - _EPOCH).days * 86_400)


def _time_of_day(u: np.ndarray) -> np.ndarray:
    """Seconds after midnight, by inverting the hourly profile's distribution."""
    hour = np.minimum(np.searchsorted(_HOURLY_CDF, u, side="right"), 23)
    below = np.where(hour > 0, _HOURLY_CDF[hour - 1], 0.0)
    within = (u - below) / (_HOURLY_CDF[hour] - below)
    return hour * 3600 + np.minimum((within * 3600).astype(np.int64), 3599)


def _sorted_uniforms(rng: np.random.Generator, count: np.ndarray) -> np.ndarray:
    """``count[i]`` sorted uniforms on [0, 1) per group, groups one after another,
    from normalised exponential spacings (so no sort is needed)."""
    ends = np.cumsum(count + 1) - 1
    total = np.cumsum(rng.standard_exponential(int(ends[-1]) + 1)) if len(ends) else np.zeros(0)
    base = np.concatenate([[0.0], total[ends[:-1]]])
    group = np.repeat(np.arange(len(count)), count + 1)
    inner = np.ones(total.size, bool)
    inner[ends] = False
    return ((total - base[group]) / (total[ends] - base)[group])[inner]


def _group_starts(owner: np.ndarray, groups: int) -> np.ndarray:
    counts = np.bincount(owner, minlength=groups)
    return np.cumsum(counts) - counts


def _order_number(customer: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Unique, random-looking order numbers: customer and sequence scrambled by a
    bijection of the 40-bit integers (uint64 multiplication wraps mod 2**64)."""
    plain = customer.astype(np.uint64) * np.uint64(_ROWS_PER_CUSTOMER) + k.astype(np.uint64)
    return (((plain * _ID_MULT) & np.uint64(_ID_MASK)) ^ _ID_XOR).astype(np.int64)


def _parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a date; give it as YYYY-MM-DD.") from None


def _writer_for(path: Path):
    name = path.name.lower()
    if name.endswith(".csv"):
        return lambda rel, target: rel.write_csv(target, header=True)
    if name.endswith(".csv.gz"):
        return lambda rel, target: rel.write_csv(target, header=True, compression="gzip")
    if name.endswith(".parquet"):
        return lambda rel, target: rel.write_parquet(target)
    raise ValueError(f"{path} must end in .csv, .csv.gz or .parquet to choose the format.")


def _remove_tree(folder: Path) -> None:
    for item in sorted(folder.rglob("*"), reverse=True):
        item.rmdir() if item.is_dir() else item.unlink()
    folder.rmdir()


def main(argv: list[str] | None = None) -> dict:
    """Command line: write a sample log and print its summary."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--out", required=True, help="target .csv, .csv.gz or .parquet")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2021-01-01")
    parser.add_argument("--end", default="2024-12-31")
    parser.add_argument("--drift-start", default=None)
    parser.add_argument("--drift-share", type=float, default=0.6)
    parser.add_argument("--chunk-customers", type=int, default=250_000)
    parser.add_argument("--no-malformed", action="store_true")
    args = parser.parse_args(argv)
    summary = write_sample(
        args.out, n_customers=args.customers, chunk_customers=args.chunk_customers, seed=args.seed,
        start=args.start, end=args.end, drift_start=args.drift_start, drift_share=args.drift_share,
        malformed=not args.no_malformed,
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
