-- Counts of the load just written (inside its transaction). rows_in must equal
-- rows_kept + rows_rejected + lines_merged, and every input row must hold its
-- own source_row.
SELECT
    (SELECT count(*) FROM ingest_mapped) + (SELECT count(*) FROM ingest_malformed) AS rows_in,
    (SELECT count(*) FROM transactions) AS rows_kept,
    (SELECT count(*) FROM rejected_transactions) AS rows_rejected,
    (SELECT count(*) FROM ingest_verdicts WHERE reason IS NULL)
        - (SELECT count(*) FROM transactions) AS lines_merged,
    (SELECT count(DISTINCT source_row) FROM (
        SELECT source_row FROM ingest_verdicts
        UNION ALL
        SELECT source_row FROM ingest_malformed
    )) AS distinct_source_rows,
    (SELECT count(*) FROM ingest_mapped WHERE copy_rank > 1) AS repeated_rows,
    (SELECT count(*) FROM transactions WHERE amount < 0) AS refunds,
    (SELECT count(DISTINCT customer_id) FROM transactions) AS customers,
    (SELECT min(order_ts) FROM transactions) AS min_order_ts,
    (SELECT max(order_ts) FROM transactions) AS max_order_ts
