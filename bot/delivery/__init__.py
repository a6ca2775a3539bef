"""Sending what the outbox holds: the loop every chat platform shares, and invites by
e-mail.
"""
