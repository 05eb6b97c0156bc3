-- Each customer's first purchase day and the amount bought that day, and the
-- day of their first event of any kind (needs daily_events). A customer
-- belongs to the snapshot at cutoff T when first_day < T; these values then
-- come from before T. customer_key numbers the customers in customer_id order:
-- the joins and sorts of the feature pass run on it (an integer, much cheaper
-- than the id), and ordering by it is ordering by customer_id. Customers who
-- never purchased get no key.
CREATE OR REPLACE TEMP TABLE first_purchases AS
SELECT
    row_number() OVER (ORDER BY customer_id) AS customer_key,
    customer_id,
    min(day) FILTER (WHERE orders > 0) AS first_day,
    arg_min(gross, day) FILTER (WHERE orders > 0) AS first_day_gross,
    min(day) AS first_event_day
FROM daily_events
GROUP BY customer_id
HAVING count(*) FILTER (WHERE orders > 0) > 0
