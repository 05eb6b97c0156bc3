"""Hyperparameters, shown and editable in the Dagster launchpad."""

import dagster as dg
from pydantic import Field

# measured: bench/training_sample.py (README, "Training sample")
MAX_TRAINING_ROWS = 600_000


class TrainingConfig(dg.Config):
    """Shared by both models: how much history, how it is weighted, how it is validated."""

    training_cutoffs: int = Field(
        default=24, description="Number of past cutoffs (months) to train on, newest first."
    )
    validation_folds: int = Field(
        default=3, description="Forward-chaining folds, each validating on one newer cutoff."
    )
    max_customers_per_cutoff: int = Field(
        default=200_000,
        description="Train on at most this many customers per cutoff, a fixed sample (by a hash "
        "of the id); 0 = all. Evaluation always uses every holdout customer.",
    )
    max_training_rows: int = Field(
        default=MAX_TRAINING_ROWS,
        description="Train on at most this many rows in all, spread evenly over the training "
        "cutoffs (the per-cutoff sample shrinks to fit); 0 = no total bound. Bounds training "
        "time and memory on large logs: holdout metrics stop improving well below it "
        "(bench/training_sample.py, in the README).",
    )

    def per_cutoff(self, cutoffs: int) -> int:
        """Customers to sample per training cutoff: the tighter of the two bounds (0 = all)."""
        bounds = [b for b in (self.max_customers_per_cutoff,
                              self.max_training_rows // max(cutoffs, 1) if self.max_training_rows
                              else 0) if b > 0]
        return max(1, min(bounds)) if bounds else 0

    recency_half_life_months: float = Field(
        default=12.0,
        description="Rows from a cutoff this many months older weigh half as much; "
        "0 turns recency weighting off.",
    )
    learning_rate: float = Field(default=0.05, description="LightGBM shrinkage rate.")
    num_leaves: int = Field(default=31, description="Maximum leaves per tree.")
    min_child_samples: int = Field(default=100, description="Minimum rows in a leaf.")
    feature_fraction: float = Field(default=0.8, description="Share of features per tree.")
    bagging_fraction: float = Field(default=0.8, description="Share of rows per tree.")
    lambda_l2: float = Field(default=1.0, description="L2 regularisation of leaf values.")
    max_rounds: int = Field(default=2000, description="Upper bound on boosting rounds.")
    early_stopping_rounds: int = Field(
        default=50, description="Stop when the validation metric has not improved this long."
    )
    seed: int = Field(default=42, description="Seed for LightGBM; same data + seed = same model.")
    num_threads: int = Field(
        default=0, description="LightGBM threads; 0 uses OpenMP's default (every CPU)."
    )


class ChurnModelConfig(TrainingConfig):
    """LightGBM churn classifier: calibration and the decision threshold policy."""

    # smaller, more regularised trees than the LTV model's: churn is a noisy binary label
    num_leaves: int = Field(default=15, description="Maximum leaves per tree.")
    min_child_samples: int = Field(default=300, description="Minimum rows in a leaf.")
    feature_fraction: float = Field(default=0.6, description="Share of features per tree.")
    lambda_l2: float = Field(default=10.0, description="L2 regularisation of leaf values.")
    # measured: the same holdout ROC-AUC as 0.05 on the sample and CDNOW in half the time
    learning_rate: float = Field(default=0.1, description="LightGBM shrinkage rate.")

    threshold_policy: str = Field(
        default="capacity",
        description="'capacity': flag the top `capacity_share` of customers by risk (a retention "
        "team's contact budget); 'cost': flag when p >= 1 / (1 + cost_ratio), the cost-optimal "
        "threshold for calibrated probabilities.",
    )
    capacity_share: float = Field(
        default=0.2, description="Share of customers the 'capacity' policy flags."
    )
    cost_ratio: float = Field(
        default=4.0,
        description="For the 'cost' policy: value of reaching a churner / cost of contacting one.",
    )
    blend_btyd: bool = Field(
        default=True,
        description="Calibrate on the model's score and BG/NBD's log-odds of no purchase "
        "together (a stacked blend fitted on the validation folds); off = plain Platt scaling.",
    )


class LtvModelConfig(TrainingConfig):
    """LightGBM spend model (tweedie) with conformalized quantile intervals."""

    tweedie_variance_power: float = Field(
        default=1.5,
        description="Tweedie power in (1, 2): zero-inflated, right-skewed spend (1.5 measured "
        "best for RMSE on the sample and CDNOW, with the BTYD base margin).",
    )
    interval_coverage: float = Field(
        default=0.8, description="Nominal coverage of the per-customer prediction interval."
    )
    offset_column: str = Field(
        default="btyd_expected_value",
        description="The tweedie trees start from log(this column) (a base margin) and learn a "
        "multiplicative correction of it, so spend extrapolates for the biggest customers "
        "(trees alone cannot predict past their leaf values); empty = no offset.",
    )
    offset_floor: float = Field(
        default=1.0,
        description="The offset column is floored at this value (and missing values set to it) "
        "before the log; 0 = the training rows' mean spend.",
    )
