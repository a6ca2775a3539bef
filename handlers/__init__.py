"""Platform-neutral intents: plain data in, a `Reply` out.

Adapters (Slack, Teams, terminal) call these through `handlers.router.dispatch` and
render the reply; nothing here knows which platform asked.
"""
