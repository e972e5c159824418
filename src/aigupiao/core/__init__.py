"""Clock, bus, task lifecycle, retry and logging: the runtime plumbing."""
