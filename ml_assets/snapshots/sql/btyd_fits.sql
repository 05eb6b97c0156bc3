-- The BG/NBD (and Gamma-Gamma) parameters fitted at each cutoff, one row per
-- cutoff, replaced when the cutoff is recomputed. A BTYD champion's scores
-- record the fit of their cutoff from here.
CREATE TABLE IF NOT EXISTS btyd_fits (cutoff_date DATE PRIMARY KEY, params VARCHAR);
