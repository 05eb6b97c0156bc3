import warnings

from dagster import BetaWarning

# Single-run backfill policies are deliberate (one writer per DuckDB file); the
# beta notice they raise at import says nothing a user can act on.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

from ml_assets.definitions import defs  # noqa: E402

__all__ = ["defs"]
