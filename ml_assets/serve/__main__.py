"""``python -m ml_assets.serve score CUSTOMER_ID [--as-of YYYY-MM-DD]`` prints one
customer's score as JSON; ``python -m ml_assets.serve http --host H --port N``
serves it over HTTP. Settings come from the ``ML_ASSETS_*`` variables."""

from __future__ import annotations

import argparse
import sys

from ml_assets.serve.models import Models, NoModel
from ml_assets.serve.score import (
    CannotScore,
    UnknownCustomer,
    parse_as_of,
    score_customer,
    to_json,
)
from ml_assets.serve.warehouse import WarehouseBusy, WarehouseMissing, read_only
from ml_assets.settings import Settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if args.command == "http":
        from ml_assets.serve.http import run

        run(settings, args.host, args.port)
        return 0
    try:
        as_of = parse_as_of(args.as_of)
        with read_only(settings.warehouse) as conn:
            print(to_json(score_customer(conn, args.customer_id, as_of,
                                         Models(settings.model_dir), settings)))
    except (ValueError, UnknownCustomer, WarehouseBusy, WarehouseMissing, NoModel) as error:
        # CannotScore is a ValueError
        kind = "cannot score" if isinstance(error, CannotScore) else "error"
        print(f"{kind}: {error}", file=sys.stderr)
        return 1 if isinstance(error, (UnknownCustomer, CannotScore)) else 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml_assets.serve", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="print one customer's score as JSON")
    score.add_argument("customer_id")
    score.add_argument("--as-of", help="YYYY-MM-DD; events strictly before it count "
                                       "(default: the day after the log's newest event)")
    http = commands.add_parser("http", help="serve GET /customers/{id}/score and GET /health")
    http.add_argument("--host", default="127.0.0.1")
    http.add_argument("--port", type=int, default=8000)
    return parser


if __name__ == "__main__":
    sys.exit(main())
