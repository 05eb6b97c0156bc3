"""Deterministic sample transaction log: the project's bundled default data.

A non-contractual customer population whose behaviour is not any one model's
assumption (the traits below were chosen against the real CDNOW log, see the
table at the end):

- customers arrive over the whole history, faster as time goes on, and more
  around the holidays; each makes a first purchase on arrival;
- a customer's life is a few active spells parted by lapses of months: after
  each spell they leave for good or lapse and later reactivate. Each spell has
  its own rate (a gamma-distributed base times a lognormal multiplier), some
  spells are short promotion bursts at several times the rate, and a third of
  customers also fade with age. Many buy once and do not return soon;
- acquisition months differ in quality (a lognormal factor per month, the same
  for every customer block), paid acquisition grows over the history and
  brings customers who buy less and leave sooner, and holiday recruits are
  often gift buyers who shop almost only in December;
- about 1% are business buyers: frequent, long-lived, with large orders;
- spend per order is lognormal around a per-customer lognormal mean;
  promotion orders are discounted;
- weekends and November/December are busier, summer is much quieter, so the
  share of customers active in a month swings with the season;
- a few percent of orders are refunded days later as a negative row, and
  frequent refunders leave sooner;
- optionally (``malformed=True``) a few real-log defects: blank customer ids,
  unparseable timestamps and amounts, year-2099 timestamps, exact duplicate
  rows and order ids reused with different content;
- optionally (``drift_start``) a new acquisition channel from that date whose
  customers buy less often, spend less and drop out sooner.

Customers are generated in fixed blocks, each with its own random streams, so
the output does not depend on how a caller chunks the customers, and each
stream draws its customer's events in order of acquisition, so injecting
drift leaves every row before ``drift_start`` unchanged.

Traits over each customer's first 456 days (``bench/generator_traits.py``;
"old" is the previous BG/NBD + gamma-gamma generator, default sample):

    trait                                   CDNOW       old         new
    purchases per customer, mean             2.75      13.0        8.31
    repeat share (2+ purchase days)          0.48      0.90        0.75
    gap days p10 / p50 / p90             4/34/192    1/8/40      1/9/69
    order value p90/p50, p99/p50         2.7, 6.8  3.0, 6.6    2.5, 8.8
    revenue share of the top 1%              0.15      0.14        0.24
    active in month 1 / 6 / 12 of life  .13/.08/.07 .54/.32/.21 .27/.22/.21
    within-customer gap CV (10+ buys)        0.98      0.91        1.13
    repeaters with a 180+ day gap, back      0.40      0.09        0.34
    active Dec / Jul, established base        n/a      1.06        1.92
    rows at the defaults (20k customers)        -   286,759     204,956

The sample is more active than CDNOW (a general web shop, not a CD store with
one-off buyers), but like it: a sharp drop after the first purchase and then
a long plateau rather than a geometric decline, and many reactivations after
long lapses; unlike it, a business tail and seasons.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

COLUMNS = ["customer_id", "order_ts", "amount", "order_id", "quantity"]

_BLOCK = 2048  # customers per random-stream block; fixed so chunking cannot change output
_B2B_SHARE = 0.012  # business buyers: frequent, large orders
_SPELLS = 6  # active spells per customer at most
_COHORT_STREAM = 1 << 30  # random stream of the acquisition months' quality
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
        shutil.rmtree(spill)
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
    calendar = _calendar(_parse_day(start, "start"), _parse_day(end, "end"), seed)
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
    spells = _spells(rng, people, calendar)
    orders = _orders(rng, people, spells, calendar)
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
    holiday_recruit = calendar["doy"][acq_day] >= 318  # from mid-November
    b2b = rng(3).random(n) < _B2B_SHARE
    gift = ~b2b & (rng(4).random(n) < np.where(holiday_recruit, 0.5, 0.15))
    # paid acquisition grows with the business and brings weaker customers
    paid = ~b2b & (rng(5).random(n) < 0.15 + 0.35 * acq_day / days)
    quality = calendar["cohort_quality"][calendar["month"][acq_day]] * np.where(paid, 0.6, 1.0)

    rate = np.where(b2b, rng(6).gamma(2.0, 0.07 / 2.0, n), rng(7).gamma(2.5, 0.038 / 2.5, n))
    rate = rate * quality  # purchases per day while active
    spend = np.where(b2b, rng(8).lognormal(np.log(150.0), 0.6, n), rng(9).lognormal(np.log(34.0), 0.45, n))
    spend = spend * np.where(paid, 0.85, 1.0)  # mean order value
    refund = rng(10).beta(0.6, 18.0, n)
    once = np.where(b2b, 0.05, 0.20 + 0.15 * holiday_recruit) / quality  # no repeat in the first spell
    ends = np.where(b2b, 0.06, 0.20) + 0.15 * paid + 3.0 * refund  # leaving for good after a spell
    active_days = np.where(b2b, 700.0, 420.0) * quality  # mean length of an active spell
    lapse_days = np.where(b2b, 45.0, 170.0)  # median length of a lapse
    tau = np.where(rng(11).random(n) < 0.35, rng(12).uniform(250.0, 1000.0, n), 1e12)  # fading
    if drift_day is not None:
        channel = (acq_day >= drift_day) & (rng(13).random(n) < drift_share)
        rate = np.where(channel, rate * 0.25, rate)
        spend = np.where(channel, spend * 0.4, spend)
        once = np.where(channel, once + 0.2, once)
        ends = np.where(channel, ends + 0.25, ends)
        active_days = np.where(channel, active_days * 0.6, active_days)

    order = np.argsort(acq_sec, kind="stable")
    traits = dict(id=block * _BLOCK + np.arange(n), acq_day=acq_day, acq_sec=acq_sec, rate=rate,
                  tau=tau, spend=spend, refund=refund, gift=gift.astype(np.int64),
                  once=np.clip(once, 0.0, 0.95), ends=np.clip(ends, 0.0, 0.95),
                  active_days=active_days, lapse_days=lapse_days)
    return {name: values[order] for name, values in traits.items()}


def _spells(rng, people, calendar) -> dict:
    """Each customer's life as up to ``_SPELLS`` active spells parted by lapses.

    A spell buys at the customer's rate times its own multiplier: some spells
    are short promotion bursts at several times the rate, and the first is
    empty for a customer who does not come back soon. After each spell the
    customer leaves for good or lapses for months and then reactivates.
    Returned as ``(customer, spell)`` cells, customer-major, in time order."""
    n, k = len(people["rate"]), _SPELLS
    shape = (n, k)
    burst = rng(14).random(shape) < np.where(np.arange(k) == 0, 0.35, 0.2)
    length = np.where(burst, rng(15).uniform(10.0, 45.0, shape),
                      rng(16).gamma(0.8, 1.0 / 0.8, shape) * people["active_days"][:, None])
    length[:, 0] *= rng(17).random(n) >= people["once"]
    boost = np.where(burst, 2.5, rng(18).lognormal(-0.125, 0.5, shape))
    lapse = rng(19).lognormal(np.log(people["lapse_days"])[:, None], 0.8, shape)
    leaves = rng(20).random(shape) < people["ends"][:, None]
    alive = np.cumprod(np.concatenate([np.ones((n, 1), bool), ~leaves[:, :-1]], axis=1), axis=1) > 0
    begin = people["acq_day"][:, None] + 1.0 + np.cumsum(length + lapse, axis=1) - (length + lapse)
    span = np.clip(np.minimum(begin + length, calendar["days"]) - begin, 0.0, None) * alive
    return dict(owner=np.repeat(np.arange(n), k), begin=begin.ravel(), span=span.ravel(),
                boost=boost.ravel(), burst=burst.ravel())


def _orders(rng, people, spells, calendar) -> dict:
    """First purchase at acquisition, then repeat purchases in each spell: a
    Poisson process, decaying with age for the fading customers, thinned by the
    customer's season (the gift buyers' is mostly December).

    Returned grouped by customer, acquisition first, repeats by day."""
    days, weight = calendar["days"], calendar["weight"]
    peak = weight.max(axis=1)
    n = len(people["rate"])
    cell, begin, span = spells["owner"], spells["begin"], spells["span"]
    tau, season = people["tau"][cell], people["gift"][cell]
    start_rate = people["rate"][cell] * spells["boost"] * np.exp(-(begin - people["acq_day"][cell] - 1) / tau)
    budget = start_rate * tau * -np.expm1(-span / tau)  # integrated rate over the spell
    count = rng(21).poisson(budget * peak[season])
    which = np.repeat(np.arange(cell.size), count)
    used = _sorted_uniforms(rng(22), count)
    at = begin[which] - tau[which] * np.log1p(used * np.expm1(-span[which] / tau[which]))
    day = np.minimum(at.astype(np.int64), days - 1)
    kept = rng(23).random(which.size) * peak[season[which]] < weight[season[which], day]
    which, day = which[kept], day[kept]
    owner = cell[which]
    # Same-day repeats are in random order, so cutting by this rank keeps the
    # same purchases in distribution as cutting by exact time.
    rank = np.arange(owner.size) - _group_starts(owner, n)[owner]
    within = rank < _MAX_ORDERS - 1
    owner, day, promo = owner[within], day[within], spells["burst"][which[within]]
    sec = day * 86_400 + _time_of_day(rng(24).random(owner.size))
    owner = np.concatenate([np.arange(n), owner])
    sec = np.concatenate([people["acq_sec"], sec])
    promo = np.concatenate([np.zeros(n, bool), promo])
    order = np.argsort(owner, kind="stable")  # merges two sorted runs
    return {"owner": owner[order], "sec": sec[order], "promo": promo[order]}


def _with_refunds(rng, people, orders, calendar) -> dict:
    """Amounts and quantities for the orders, plus refund rows a few days after
    some of them, then order numbers in time order per customer."""
    owner, sec = orders["owner"], orders["sec"]
    n = owner.size
    # lognormal around the customer's mean; promotion orders are discounted
    dollars = people["spend"][owner] * rng(30).lognormal(-0.08, 0.4, n) * np.where(orders["promo"], 0.8, 1.0)
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


def _calendar(start: date, end: date, seed: int) -> dict:
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
        + 0.60 * np.exp(-(((doy - 342) / 16.0) ** 2))  # December shopping
        + 0.45 * np.exp(-(((doy - 330) / 5.0) ** 2))  # late-November sales
        - 0.50 * np.exp(-(((doy - 200) / 35.0) ** 2))  # summer lull
    )
    gifts = (
        0.12
        + 4.0 * np.exp(-(((doy - 345) / 14.0) ** 2))  # gift buyers: December
        + 1.5 * np.exp(-(((doy - 330) / 5.0) ** 2))
    )
    weight = _WEEKDAY[weekday] * np.stack([yearly, gifts])
    growth = np.exp(np.log(2.5) * np.arange(days) / days)
    acq = growth * weight[0] ** 0.7
    months = dates.astype("datetime64[M]").astype(np.int64)
    month = months - months[0]
    # Every acquisition month brings customers of its own quality, the same for
    # every block of customers.
    quality = np.random.default_rng([seed, _COHORT_STREAM]).lognormal(0.0, 0.3, month[-1] + 1)
    return dict(start=start, days=days, doy=doy, weight=weight, acq_cdf=np.cumsum(acq) / acq.sum(),
                month=month, cohort_quality=quality, epoch=(start - _EPOCH).days * 86_400)


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
