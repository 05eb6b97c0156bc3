-- Each customer's first purchase day and the amount bought that day. A
-- customer belongs to the snapshot at cutoff T when first_day < T; both values
-- then come from before T. customer_key numbers the customers in customer_id
-- order: the joins and sorts of the feature pass run on it (an integer, much
-- cheaper than the id), and ordering by it is ordering by customer_id.
-- $customer and $before narrow it as in customer_state.sql.
CREATE OR REPLACE TEMP TABLE first_purchases AS
SELECT
    row_number() OVER (ORDER BY customer_id) AS customer_key,
    customer_id,
    min(order_ts::DATE) AS first_day,
    arg_min(day_gross, day) AS first_day_gross
FROM (
    SELECT customer_id, order_ts, order_ts::DATE AS day,
           sum(amount::DECIMAL(18, 4)) OVER (PARTITION BY customer_id, order_ts::DATE) AS day_gross
    FROM transactions
    WHERE amount > 0
      AND ($customer::VARCHAR IS NULL OR customer_id = $customer::VARCHAR)
      AND ($before::DATE IS NULL OR order_ts < $before::DATE)
)
GROUP BY customer_id;
