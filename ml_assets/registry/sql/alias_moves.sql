-- One task's alias moves in the order they were committed: rowid follows
-- insertion order, and the table is append-only (clocks can step back, rowids cannot).
SELECT to_model, to_version FROM alias_history
WHERE task = ? AND alias = ?
ORDER BY rowid
