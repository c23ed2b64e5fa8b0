"""What people read: failure explanations, the terminal summary, reports."""
