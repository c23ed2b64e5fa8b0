def generate(messages, params):
    """Already promptcheck's signature: (messages, params)."""
    return messages[-1]["content"].upper()
