"""Dataset sources, one module each, listed in bench/registry.py DATASET_SOURCES: each reads a
dataset into RawData (bench/plugins.py); bench/data/ cleans and splits every one alike."""
