"""Market data adapters: CSV, Parquet, SQL candles, synthetic bars."""
