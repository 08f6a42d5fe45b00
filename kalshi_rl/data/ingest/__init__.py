"""From the feed to storage: the feed handler, the collector, write queues and sinks."""
