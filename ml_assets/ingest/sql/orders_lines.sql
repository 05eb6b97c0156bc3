-- 'lines' mode: the lines of one order summed into one row (earliest time,
-- first source row). Rows without an order id stay single rows.
CREATE OR REPLACE TEMP TABLE ingest_orders AS
SELECT
    any_value(customer_id) AS customer_id,
    min(order_ts) AS order_ts,
    sum(amount) AS amount,
    order_id,
    sum(quantity) AS quantity,
    min(source_row) AS source_row
FROM ingest_verdicts
WHERE reason IS NULL
GROUP BY order_id, CASE WHEN order_id IS NULL THEN source_row END
