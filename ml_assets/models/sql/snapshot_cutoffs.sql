SELECT DISTINCT cutoff_date FROM training_snapshots ORDER BY 1
