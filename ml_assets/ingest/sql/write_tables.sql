-- Replace both public tables from the staged load (inside the load's transaction).
INSERT INTO transactions
SELECT customer_id, order_ts, amount, order_id, quantity, source_row
FROM ingest_orders
ORDER BY customer_id, order_ts, source_row;
INSERT INTO rejected_transactions
SELECT source_row, reason, customer_id_text, order_ts_text, amount_text, order_id_text,
    quantity_text, NULL
FROM ingest_verdicts
WHERE reason IS NOT NULL
UNION ALL
SELECT source_row, 'malformed_line', NULL, NULL, NULL, NULL, NULL, raw_line
FROM ingest_malformed
ORDER BY source_row;
