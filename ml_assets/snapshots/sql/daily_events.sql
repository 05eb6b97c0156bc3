-- Each customer's events rolled up to one row per day with any event: the
-- single pass over the transactions that first_purchases.sql and
-- customer_state.sql both read. A purchase is a positive amount; a refund is a
-- negative amount. Money is summed as DECIMAL so results are exact and do not
-- depend on row order.
-- $customer (NULL: everyone) and $before (NULL: every event) narrow it to one
-- customer's events strictly before a day, for scoring one customer on demand.
CREATE OR REPLACE TEMP TABLE daily_events AS
WITH tx AS (
    SELECT customer_id, order_ts::DATE AS day, amount::DECIMAL(18, 4) AS amount
    FROM transactions
    WHERE ($customer::VARCHAR IS NULL OR customer_id = $customer::VARCHAR)
      AND ($before::DATE IS NULL OR order_ts < $before::DATE)
)
SELECT
    customer_id,
    day,
    count(*) FILTER (WHERE amount > 0)::INTEGER AS orders,
    count(*) FILTER (WHERE amount < 0)::INTEGER AS refunds,
    coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::DECIMAL(18, 4) AS gross,
    coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)::DECIMAL(18, 4) AS refunded,
    coalesce(sum(amount * amount) FILTER (WHERE amount > 0), 0) AS gross_sq,
    max(amount) AS max_amount
FROM tx
GROUP BY ALL
