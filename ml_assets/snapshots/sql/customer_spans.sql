-- Each customer's events rolled up by span (needs state_boundaries): the days
-- between two consecutive look-up days form a span, and a customer's events in
-- one span become one row keyed by the span's first day (the days before the
-- first boundary form one span, keyed -infinity). Events on or after the last
-- boundary are never looked up and are left out. The single pass over the
-- transactions that first_purchases.sql and customer_state.sql both read.
-- A purchase is a positive amount, a refund a negative one; money is summed as
-- DECIMAL so results are exact and do not depend on row order.
-- $customer (NULL: everyone) and $before (NULL: every event) narrow it to one
-- customer's events strictly before a day, for scoring one customer on demand.
CREATE OR REPLACE TEMP TABLE customer_spans AS
WITH bounds AS (
    SELECT min(day) AS first_day, max(day) AS last_day FROM state_boundaries
),
-- every day from the first boundary to the last, and the boundary its span starts at
span_of_day AS (
    SELECT d.day, b.day AS span_start
    FROM (SELECT unnest(range(first_day, last_day, INTERVAL 1 DAY))::DATE AS day FROM bounds) d
    ASOF JOIN state_boundaries b ON d.day >= b.day
),
tx AS (
    SELECT customer_id, order_ts::DATE AS day, amount::DECIMAL(18, 4) AS amount
    FROM transactions
    WHERE order_ts < (SELECT last_day FROM bounds)
      AND ($customer::VARCHAR IS NULL OR customer_id = $customer::VARCHAR)
      AND ($before::DATE IS NULL OR order_ts < $before::DATE)
),
-- on purchases: the days since the customer's previous purchase (0 for a second
-- purchase the same day, NULL for the first purchase), and the day of the
-- customer's first purchase
purchases AS (
    SELECT *,
        CASE WHEN amount > 0 THEN day - lag(day) OVER w END AS gap,
        CASE WHEN amount > 0 THEN first_value(day) OVER w END AS customer_first_purchase_day
    FROM tx
    WINDOW w AS (PARTITION BY customer_id, amount > 0 ORDER BY day)
),
-- a purchase whose gap is positive or NULL is the first of its day: it starts a purchase day
orders AS (
    SELECT *, amount > 0 AND gap IS DISTINCT FROM 0 AS starts_purchase_day FROM purchases
)
SELECT
    customer_id,
    coalesce(s.span_start, '-infinity'::DATE) AS day,
    min(p.day) AS first_event_day,
    max(p.day) AS last_event_day,
    count(*) FILTER (WHERE amount > 0)::INTEGER AS orders,
    count(*) FILTER (WHERE amount < 0)::INTEGER AS refunds,
    coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::DECIMAL(18, 4) AS gross,
    coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)::DECIMAL(18, 4) AS refunded,
    coalesce(sum(amount * amount) FILTER (WHERE amount > 0), 0) AS gross_sq,
    max(amount) AS max_order,
    count(*) FILTER (WHERE starts_purchase_day)::INTEGER AS purchase_days,
    count(*) FILTER (WHERE starts_purchase_day AND month(p.day) IN (11, 12))::INTEGER AS holiday_days,
    min(p.day) FILTER (WHERE amount > 0) AS first_purchase_day,
    max(p.day) FILTER (WHERE amount > 0) AS last_purchase_day,
    sum(amount) FILTER (WHERE p.day = p.customer_first_purchase_day) AS first_day_gross,
    sum(gap * gap)::BIGINT AS gap_sq_sum,
    max(gap) FILTER (WHERE gap > 0)::INTEGER AS gap_max
FROM orders p
LEFT JOIN span_of_day s USING (day)
GROUP BY ALL
