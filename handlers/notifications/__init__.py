"""Notices queued for people, worded when sent or shown (`notices`); the weekly digest;
what each scheduler tick sets in motion (`clockwork`); where a person is reached on
Teams (`addresses`); and the terminal inbox's record (`inbox`).
"""
