"""The pytest nodes: suite files (``PromptFile``) and prompt items (``PromptItem``), and their lifetime."""
