"""The canonical columns of a transaction log and ``ML_ASSETS_COLUMN_MAP``,
which maps them to a file's own names (ingest reads the file with it; the
new-data sensor reads the file's newest timestamp with it)."""

from __future__ import annotations

import dagster as dg

from ml_assets.settings import env_var

CANONICAL = ("customer_id", "order_ts", "amount", "order_id", "quantity")
REQUIRED = ("customer_id", "order_ts", "amount")
EXAMPLE_MAP = (
    "'customer_id=CustomerID,order_ts=InvoiceDate,amount=Quantity*Price,order_id=Invoice'"
)


def parse_column_map(text: str) -> dict[str, tuple[str, ...]]:
    """``'customer_id=CustomerID,amount=Quantity*Price'`` -> ``{"customer_id":
    ("CustomerID",), "amount": ("Quantity", "Price")}``. Only amount may be a
    product of two columns; canonical names not mentioned are looked up as is."""
    mapping: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = (s.strip() for s in part.partition("="))
        names = tuple(n.strip() for n in value.split("*"))
        problem = None
        if not sep or not value or not all(names):
            problem = f"'{part}' is not canonical=FileColumn"
        elif key not in CANONICAL:
            problem = f"'{key}' is not one of {', '.join(CANONICAL)}"
        elif key in mapping:
            problem = f"'{key}' is mapped twice"
        elif len(names) > (2 if key == "amount" else 1):
            problem = f"'{part}': only amount may be a product, and of two columns"
        if problem:
            raise dg.Failure(
                f"{env_var('column_map')}={text!r}: {problem}. Example: {EXAMPLE_MAP}."
            )
        mapping[key] = names
    return mapping
