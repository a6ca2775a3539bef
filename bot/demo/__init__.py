"""`python -m bot demo`: a compressed season on a fresh SQLite file, and its fictional
cast.
"""
