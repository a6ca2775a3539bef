"""The record as a whole: the consistency check (`python -m bot check`) that reports every
contradiction in a database.
"""
