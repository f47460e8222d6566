"""A stack's settings: the stack files, the settings they hold, and shards."""
