"""The employee's private health tools: checklists, measures, pain, training, consent, GDPR."""
