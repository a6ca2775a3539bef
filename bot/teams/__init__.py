"""The Teams adapter: the Agents SDK's activity handler that turns Teams activities into
handler calls and renders the replies as Adaptive Cards, the approval channel's cards,
and the outbox's notices sent proactively (app.py lists each module)."""
