-- Running per-customer state at the look-up days in state_boundaries (needs
-- daily_events and first_purchases). The days between two consecutive
-- boundaries form a span; a customer's events in one span are rolled up into
-- one row keyed by the span's first day (the days before the first boundary
-- form one span, keyed -infinity), and every column of that row is a prefix
-- aggregate over the customer's spans up to it. So "state strictly before a
-- boundary X" is the one row with day < X <= next_day (next_day: the day of
-- the customer's next row, infinity for the last), and a window
-- [T - w, T) is state(< T) minus state(< T - w): both ends are boundaries, so
-- no span straddles one. Events on or after the last boundary are never looked
-- up and are left out. Spans hold far fewer rows than days with events, which
-- makes the running aggregates below and every look-up join on them cheaper.
-- Keyed by first_purchases.customer_key: customers who never purchased are in
-- no snapshot. The running sums are cast back to the width of their inputs
-- (exact: a customer's total fits), which halves the cost of the look-up joins.
CREATE OR REPLACE TEMP TABLE customer_state AS
WITH bounds AS (
    SELECT min(day) AS first_day, max(day) AS last_day FROM state_boundaries
),
-- every day from the first boundary to the last, and the boundary its span starts at
span_of_day AS (
    SELECT d.day, b.day AS span_start
    FROM (SELECT unnest(range(first_day, last_day, INTERVAL 1 DAY))::DATE AS day FROM bounds) d
    ASOF JOIN state_boundaries b ON d.day >= b.day
),
daily AS (
    SELECT
        k.customer_key,
        d.* EXCLUDE (customer_id),
        -- days since the customer's previous purchase day, on purchase days (the
        -- partition by orders > 0 puts purchase days apart from refund-only days,
        -- a plain lag being cheaper than one that skips NULLs)
        CASE WHEN d.orders > 0 THEN d.day - lag(d.day)
            OVER (PARTITION BY k.customer_key, d.orders > 0 ORDER BY d.day) END AS gap
    FROM daily_events d
    JOIN first_purchases k USING (customer_id)
    WHERE d.day < (SELECT last_day FROM bounds)
),
spans AS (
    SELECT
        d.customer_key,
        coalesce(s.span_start, '-infinity'::DATE) AS day,
        max(d.day) AS last_event_day,
        sum(d.orders) AS orders,
        sum(d.refunds) AS refunds,
        sum(d.gross) AS gross,
        sum(d.refunded) AS refunded,
        sum(d.gross_sq) AS gross_sq,
        max(d.max_amount) AS max_order,
        count(*) FILTER (WHERE d.orders > 0) AS purchase_days,
        count(*) FILTER (WHERE d.orders > 0 AND month(d.day) IN (11, 12)) AS holiday_days,
        max(d.day) FILTER (WHERE d.orders > 0) AS last_purchase_day,
        sum(d.gap * d.gap) AS gap_sq_sum,
        max(d.gap) AS gap_max
    FROM daily d
    LEFT JOIN span_of_day s USING (day)
    GROUP BY ALL
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
