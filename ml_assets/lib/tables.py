"""Markdown tables for asset metadata (``MetadataValue.md``), written by
tabulate (what pandas' ``DataFrame.to_markdown`` calls)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from tabulate import tabulate


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".4f") -> str:
    """GitHub markdown table of ``frame`` without its index: floats formatted with
    ``floatfmt`` (the digits a person reads), missing values as empty cells,
    dates as ISO dates, pipes in text escaped."""
    rows = [[_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return tabulate(rows, headers=[str(c) for c in frame.columns], floatfmt=floatfmt,
                    missingval="", tablefmt="github")


def _text(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, datetime):
        midnight = (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return value


def rounded(value, digits: int = 4):
    """``value`` with every float inside it rounded to ``digits`` decimals, for JSON
    metadata a person reads (the tables keep full precision)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value
