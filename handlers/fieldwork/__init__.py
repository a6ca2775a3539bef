"""What happens at and after a visit: BPR engagements and their steps, work logs and
minutes, reminders that follow from the facts, check-ins on open issues.
"""
