"""Which cutoffs a model trains, validates and is held out on.

The holdout is the newest cutoff whose labels are mature. A cutoff T may be
trained on only when its label window [T, T + horizon) has closed by the
cutoff it is judged on, so no training label overlaps the period being
predicted. The same rule builds the forward-chaining validation folds.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg


@dataclass(frozen=True)
class Fold:
    train: tuple[date, ...]
    valid: date


@dataclass(frozen=True)
class Split:
    holdout: date
    train: tuple[date, ...]
    folds: tuple[Fold, ...]


def closed_before(cutoffs: list[date], horizon_days: int, judged_at: date) -> list[date]:
    """Cutoffs whose label window ends on or before ``judged_at``."""
    return [c for c in cutoffs if c + timedelta(days=horizon_days) <= judged_at]


def plan_split(
    mature: list[date], horizon_days: int, train_cutoffs: int, folds: int, fold_stride: int = 3
) -> Split:
    """Holdout, training window and rolling-origin folds from mature cutoffs.

    Validation cutoffs are the newest training cutoffs, ``fold_stride`` months
    apart; each fold trains on the cutoffs whose labels closed before it.
    """
    if not mature:
        raise dg.Failure(
            "No cutoff has mature labels yet: materialize training_snapshots for cutoffs at "
            "least one label window before the data's last event."
        )
    mature = sorted(mature)
    holdout = mature[-1]
    train = closed_before(mature, horizon_days, holdout)[-train_cutoffs:]
    plan = []
    for valid in train[::-1][::fold_stride][:folds]:
        fold_train = closed_before(train, horizon_days, valid)
        if fold_train:
            plan.append(Fold(train=tuple(fold_train), valid=valid))
    if not plan:
        raise dg.Failure(
            f"Not enough mature cutoffs for forward-chaining validation with a {horizon_days}-day "
            f"label window: {len(mature)} mature cutoff(s), newest {holdout}. Materialize "
            "training_snapshots over a longer range (ML_ASSETS_PARTITIONS_START earlier)."
        )
    return Split(holdout=holdout, train=tuple(train), folds=tuple(reversed(plan)))
