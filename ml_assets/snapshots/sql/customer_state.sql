-- Running per-customer state, one row per customer and day with any event.
-- Every column on day d is a prefix aggregate over that customer's days <= d,
-- so "state strictly before cutoff T" is the last row with day < T (an ASOF
-- join), and a window [T - w, T) is state(< T) minus state(< T - w).
-- Reads daily_events, keyed by first_purchases.customer_key: customers who
-- never purchased are in no snapshot. The running sums are cast back to the
-- width of their inputs (exact: a customer's total fits), which halves the cost
-- of the ASOF join that reads them.
CREATE OR REPLACE TEMP TABLE customer_state AS
WITH daily AS (
    SELECT k.customer_key AS customer_id, d.* EXCLUDE (customer_id)
    FROM daily_events d
    JOIN first_purchases k USING (customer_id)
),
gaps AS (
    SELECT
        *,
        CASE WHEN orders > 0 THEN day - max(CASE WHEN orders > 0 THEN day END) OVER (
            PARTITION BY customer_id ORDER BY day
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) END AS gap
    FROM daily
)
SELECT
    customer_id AS customer_key,
    day,
    (sum(orders) OVER w)::INTEGER AS orders,
    (sum(refunds) OVER w)::INTEGER AS refunds,
    (sum(gross) OVER w)::DECIMAL(18, 4) AS gross,
    (sum(refunded) OVER w)::DECIMAL(18, 4) AS refunded,
    sum(gross_sq) OVER w AS gross_sq,
    max(max_amount) OVER w AS max_order,
    (count(*) FILTER (WHERE orders > 0) OVER w)::INTEGER AS purchase_days,
    (count(*) FILTER (WHERE orders > 0 AND month(day) IN (11, 12)) OVER w)::INTEGER AS holiday_days,
    max(CASE WHEN orders > 0 THEN day END) OVER w AS last_purchase_day,
    coalesce(sum(gap * gap) OVER w, 0)::BIGINT AS gap_sq_sum,
    max(gap) OVER w AS gap_max
FROM gaps
WINDOW w AS (PARTITION BY customer_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
