-- 'lines' mode, after conflicting_order_lines: every line of an order whose
-- total is implausible is rejected.
UPDATE ingest_verdicts
SET reason = 'implausible_amount'
WHERE reason IS NULL AND order_id IN (
    SELECT order_id
    FROM ingest_verdicts
    WHERE reason IS NULL AND order_id IS NOT NULL
    GROUP BY order_id
    HAVING abs(sum(amount)) > $max_amount
)
