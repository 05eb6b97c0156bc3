from ml_assets.definitions import defs
