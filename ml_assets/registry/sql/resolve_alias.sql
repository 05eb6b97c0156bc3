SELECT model_name, version FROM model_aliases WHERE task = ? AND alias = ?
