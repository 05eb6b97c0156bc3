SELECT max(cutoff_date) FROM customer_features
