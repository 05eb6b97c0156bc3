-- 'lines' mode: all valid lines of an order id that several customers claim
-- are rejected, since none can be trusted.
UPDATE ingest_verdicts
SET reason = 'conflicting_order_lines'
WHERE reason IS NULL AND order_id IN (
    SELECT order_id
    FROM ingest_verdicts
    WHERE reason IS NULL AND order_id IS NOT NULL
    GROUP BY order_id
    HAVING min(customer_id) <> max(customer_id)
)
