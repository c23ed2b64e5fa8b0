def make(context):
    return "hi"
