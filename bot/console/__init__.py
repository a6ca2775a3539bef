"""The terminal: the chat anyone can try (`python -m bot console`), its text rendering, and
the inbox the local service fills.
"""
