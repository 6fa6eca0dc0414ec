"""Session channels: record streams, the rules tying them to sessions, Server-Sent Events,
and the agent that plays the task behind a chat session."""
