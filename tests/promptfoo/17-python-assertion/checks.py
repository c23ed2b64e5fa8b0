def get_assert(output, context):
    """promptfoo's file:// Python assertion: (output, context) -> bool | score | result."""
    return output.endswith("!")
