-- Each customer's first purchase day and the amount bought that day, and the
-- day of their first event of any kind (needs customer_spans). A customer
-- belongs to the snapshot at cutoff T when first_day < T; these values then
-- come from before T. customer_key numbers the customers in customer_id order:
-- the joins and sorts of the feature pass run on it (an integer, much cheaper
-- than the id), and ordering by it is ordering by customer_id. Customers with
-- no purchase before the last look-up day get no key: they are in no snapshot.
CREATE OR REPLACE TEMP TABLE first_purchases AS
SELECT
    row_number() OVER (ORDER BY customer_id) AS customer_key,
    customer_id,
    min(first_purchase_day) AS first_day,
    sum(first_day_gross)::DECIMAL(18, 4) AS first_day_gross,
    min(first_event_day) AS first_event_day
FROM customer_spans
GROUP BY customer_id
HAVING min(first_purchase_day) IS NOT NULL
