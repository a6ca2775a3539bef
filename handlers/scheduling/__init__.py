"""Booking time: sessions by hand or from slots, consultants' diaries and availability,
travel, business days, invites, calendar feeds, the results meeting, answers to a
session notice. The rules a booking must keep (absences, travel between stops, BPR
spacing, the results meeting's month) are stated once in `rules.py`, which booking, the
diary and the planner all call.
"""
