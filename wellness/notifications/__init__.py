"""Mail composition and sending, and reminders."""
