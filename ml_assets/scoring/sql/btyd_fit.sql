SELECT * EXCLUDE (cutoff_date) FROM btyd_fits WHERE cutoff_date = $cutoff::DATE
