import os
import warnings

# LightGBM and scikit-learn run on OpenMP, whose threads by default spin while
# they wait for work. When other processes share the cores (concurrent runs, a
# code server, a busy CI machine) that spinning starves everyone: training the
# churn model took 250 s instead of 13 s on a loaded 2-core machine. Passive
# waiting gives up a little latency per parallel region instead. Set before
# either library loads; a value the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dagster import BetaWarning

# Single-run backfill policies are deliberate (one writer per DuckDB file); the
# beta notice they raise at import says nothing a user can act on.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

from ml_assets.definitions import defs  # noqa: E402

__all__ = ["defs"]
