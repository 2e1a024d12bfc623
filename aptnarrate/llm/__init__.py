"""The model stage: build the prompt from facts and rule findings (compressed to a token budget),
send it through a chat transport configured from settings, and validate the reply against the
narration schema, re-asking when it does not fit."""
