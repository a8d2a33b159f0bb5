"""What Slack and Teams share: the per-event block (basic or formatted message), JSON-safe template
contexts, and the templates compiled at startup with the basic message as the fallback."""
