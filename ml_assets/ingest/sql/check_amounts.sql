SELECT
    count(*) AS rows,
    count(*) FILTER (WHERE amount IS NULL OR NOT isfinite(amount)) AS not_finite,
    count(*) FILTER (WHERE abs(amount) > $max_amount) AS above_max_amount,
    count(*) FILTER (WHERE amount > 0) AS positive,
    max(abs(amount)) FILTER (WHERE isfinite(amount)) AS largest_finite_abs_amount
FROM transactions
