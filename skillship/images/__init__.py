"""One image per action: its content digest, its ignore file (and Go's matcher), its builder."""
