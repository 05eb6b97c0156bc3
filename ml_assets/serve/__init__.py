"""Scores on demand for one customer: the CLI (``python -m ml_assets.serve
score``) and the HTTP service (``python -m ml_assets.serve http``).

Both compute the customer's features with the snapshots' point-in-time SQL
(events strictly before the as-of date), take the population-level inputs (the
BTYD fit, the value-segment cut points) from what the batch run stored for the
newest cutoff at or before the as-of date, and score with ``score_frame``, the
function ``customer_scores`` uses: at a scored cutoff, with the same champions,
the answer is that customer's ``customer_scores`` row.

The warehouse is attached read-only for each request and detached after it
(``warehouse.py``), so the service never holds the file between requests and
never takes the write lock a run needs."""
