"""The append-only audit log: who did what, when; never the data itself."""
