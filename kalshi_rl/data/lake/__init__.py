"""The Parquet lake: every event the collector accepted, hive-partitioned, written atomically."""
