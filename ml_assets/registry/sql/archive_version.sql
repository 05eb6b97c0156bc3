UPDATE model_versions SET status = 'archived' WHERE model_name = ? AND version = ?
