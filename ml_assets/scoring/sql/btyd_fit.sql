SELECT params FROM btyd_fits WHERE cutoff_date = $cutoff::DATE
