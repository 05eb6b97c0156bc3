-- The BG/NBD (and Gamma-Gamma) fit of the newest cutoff at or before $as_of.
SELECT cutoff_date, params FROM btyd_fits
WHERE cutoff_date <= $as_of::DATE
ORDER BY cutoff_date DESC
LIMIT 1
