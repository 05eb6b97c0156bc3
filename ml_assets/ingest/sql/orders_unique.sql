-- 'unique' mode: every valid row is an order.
CREATE OR REPLACE TEMP VIEW ingest_orders AS
SELECT customer_id, order_ts, amount, order_id, quantity, source_row
FROM ingest_verdicts
WHERE reason IS NULL
