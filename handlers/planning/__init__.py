"""The season: the planner's proposal, the prefecture's review and confirmation, and quota
figures (the one function every count comes from).
"""
