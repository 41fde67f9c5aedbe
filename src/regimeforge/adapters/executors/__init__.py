"""Executors: inline, local process pool, Dask."""
