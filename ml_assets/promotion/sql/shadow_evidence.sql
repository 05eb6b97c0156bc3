-- The comparison rows of one shadow_comparison run, oldest cutoff first.
SELECT * FROM shadow_comparison WHERE run_id = $run_id ORDER BY task, cutoff_date
