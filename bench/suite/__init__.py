"""The suite layer: a TOML file -> checked, typed cells (parsing, matrix and sweeps, preflight)."""
