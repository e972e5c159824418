"""Cloud <-> local wire protocol (versioned, typed)."""
