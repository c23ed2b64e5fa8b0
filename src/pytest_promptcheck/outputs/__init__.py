"""What people and machines read: failure text, the terminal summary, reports, junit, exports, redaction."""
