"""Reading history back: DuckDB/PostgreSQL preload of a window into segments for the env."""
