SELECT version FROM model_aliases WHERE model_name = ? AND alias = ?
