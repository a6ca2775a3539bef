"""The prefecture's desk in the browser: what each page shows, and signing in to it without
a password.
"""
