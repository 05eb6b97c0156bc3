SELECT task, model_name, version FROM model_aliases WHERE alias = 'champion'
