"""The documents the contract demands: gathering rows, laying them out, writing Word, HTML,
PDF and Excel, the case book, era dates, the submission bundle.
"""
