-- The days at which features.sql and labels.sql look up a customer's state:
-- every cutoff in $cutoffs shifted by each of $offsets (0, minus each feature
-- window, plus each label horizon). customer_state.sql holds the state only at
-- these days, so a look-up at any other day would be wrong: stage_features and
-- stage_labels refuse to run unless their look-ups are all here.
CREATE OR REPLACE TEMP TABLE state_boundaries AS
SELECT DISTINCT c.cutoff + o.offset_days AS day
FROM (SELECT unnest($cutoffs::DATE[]) AS cutoff) c
CROSS JOIN (SELECT unnest($offsets::INTEGER[]) AS offset_days) o
