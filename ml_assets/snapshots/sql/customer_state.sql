-- Running per-customer state, one row per customer and day with any event.
-- Every column on day d is a prefix aggregate over that customer's days <= d,
-- so "state strictly before cutoff T" is the last row with day < T (an ASOF
-- join), and a window [T - w, T) is state(< T) minus state(< T - w).
-- A purchase is a positive amount; a refund is a negative amount. Money is
-- summed as DECIMAL so results are exact and do not depend on row order.
-- Keyed by first_purchases.customer_key (needs it): customers who never
-- purchased are in no snapshot. The running sums are cast back to the width
-- of their inputs (exact: a customer's total fits), which halves the cost of
-- the ASOF join that reads them.
-- $customer (NULL: everyone) and $before (NULL: every event) narrow it to one
-- customer's events strictly before a day, for scoring one customer on demand.
CREATE OR REPLACE TEMP TABLE customer_state AS
WITH tx AS (
    SELECT k.customer_key AS customer_id, t.order_ts, t.amount::DECIMAL(18, 4) AS amount
    FROM transactions t
    JOIN first_purchases k USING (customer_id)
    WHERE ($customer::VARCHAR IS NULL OR t.customer_id = $customer::VARCHAR)
      AND ($before::DATE IS NULL OR t.order_ts < $before::DATE)
),
daily AS (
    SELECT
        customer_id,
        order_ts::DATE AS day,
        count(*) FILTER (WHERE amount > 0)::INTEGER AS orders,
        count(*) FILTER (WHERE amount < 0)::INTEGER AS refunds,
        coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::DECIMAL(18, 4) AS gross,
        coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)::DECIMAL(18, 4) AS refunded,
        coalesce(sum(amount * amount) FILTER (WHERE amount > 0), 0) AS gross_sq,
        max(amount) AS max_amount
    FROM tx
    GROUP BY ALL
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
    coalesce(sum(gap) OVER w, 0)::INTEGER AS gap_sum,
    coalesce(sum(gap * gap) OVER w, 0)::BIGINT AS gap_sq_sum,
    max(gap) OVER w AS gap_max
FROM gaps
WINDOW w AS (PARTITION BY customer_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
