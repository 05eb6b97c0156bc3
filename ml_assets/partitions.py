"""Monthly cutoff partitions: the key is the cutoff date T (first of a month)."""

from __future__ import annotations

import dagster as dg

from ml_assets.settings import Settings

# Partitioned assets compute every requested cutoff in one run and one SQL
# pass. This also serialises writers of the single-file DuckDB warehouse.
SINGLE_RUN = dg.BackfillPolicy.single_run()


def cutoff_partitions(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    """Cutoffs from ``partitions_start`` to ``partitions_end`` inclusive.

    With no end, the newest cutoff is the first of the current month.
    """
    first, last = settings.first_cutoff(), settings.last_cutoff()
    if last is None:
        return dg.MonthlyPartitionsDefinition(start_date=first.isoformat(), end_offset=1)
    if last < first:
        raise dg.DagsterInvalidDefinitionError(
            f"ML_ASSETS_PARTITIONS_END={last} is before ML_ASSETS_PARTITIONS_START={first}."
        )
    end = last.replace(year=last.year + last.month // 12, month=last.month % 12 + 1)
    return dg.MonthlyPartitionsDefinition(start_date=first.isoformat(), end_date=end.isoformat())


CUTOFFS = cutoff_partitions(Settings.from_env())
