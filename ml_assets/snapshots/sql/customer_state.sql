-- Running per-customer state at the look-up days in state_boundaries (needs
-- customer_spans and first_purchases). Each row is a customer's span with
-- events (keyed by the span's first day, -infinity for the days before the
-- first boundary), and every column is a prefix aggregate over the customer's
-- spans up to it. So "state strictly before a boundary X" is the one row with
-- day < X <= next_day (next_day: the day of the customer's next row, infinity
-- for the last), and a window [T - w, T) is state(< T) minus state(< T - w):
-- both ends are boundaries, so no span straddles one. Spans hold far fewer rows
-- than days with events, which makes the running aggregates below and every
-- look-up join on them cheaper.
-- Keyed by first_purchases.customer_key: customers who never purchased are in
-- no snapshot. The running sums are cast back to the width of their inputs
-- (exact: a customer's total fits), which halves the cost of the look-up joins.
CREATE OR REPLACE TEMP TABLE customer_state AS
WITH spans AS (
    SELECT k.customer_key, s.* EXCLUDE (customer_id)
    FROM customer_spans s
    JOIN first_purchases k USING (customer_id)
)
SELECT
    customer_key,
    day,
    coalesce(lead(day) OVER w, 'infinity'::DATE) AS next_day,
    last_event_day,
    (sum(orders) OVER w)::INTEGER AS orders,
    (sum(refunds) OVER w)::INTEGER AS refunds,
    (sum(gross) OVER w)::DECIMAL(18, 4) AS gross,
    (sum(refunded) OVER w)::DECIMAL(18, 4) AS refunded,
    sum(gross_sq) OVER w AS gross_sq,
    max(max_order) OVER w AS max_order,
    (sum(purchase_days) OVER w)::INTEGER AS purchase_days,
    (sum(holiday_days) OVER w)::INTEGER AS holiday_days,
    max(last_purchase_day) OVER w AS last_purchase_day,
    coalesce(sum(gap_sq_sum) OVER w, 0)::BIGINT AS gap_sq_sum,
    max(gap_max) OVER w AS gap_max
FROM spans
WINDOW w AS (PARTITION BY customer_key ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
