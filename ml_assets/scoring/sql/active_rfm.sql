-- Recency, frequency and value of the active customers at a cutoff: the
-- population the reasons of champions without boosters rank customers on.
SELECT recency_days, orders_total, avg_order_value
FROM customer_features
WHERE cutoff_date = $cutoff::DATE
  AND ($active_days::INTEGER = 0 OR recency_days <= $active_days::INTEGER)
