"""Market data: the book, the shared state, the write path, the lake, storage, replay."""
