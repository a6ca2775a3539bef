"""The Slack adapter: Bolt listeners that turn Slack payloads into handler calls and
render the replies as Block Kit."""
