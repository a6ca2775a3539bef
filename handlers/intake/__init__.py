"""Requests coming in and their approval: consultation requests and BPR applications
(submission), the prefecture's decisions (decision), the request's card in the approval
channel and the one sequence every platform keeps it by (approval_card), the request
state machine (workflow).
"""
