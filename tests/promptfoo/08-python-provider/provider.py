def call_api(prompt, options, context):
    """promptfoo's Python provider signature; replies with the prompt reversed word by word."""
    return {"output": " ".join(reversed(prompt.split())), "tokenUsage": {"prompt": 3, "completion": 3}}
