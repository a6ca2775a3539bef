"""What every intent is built on: the reply and form model (`reply`, `forms`, `payloads`),
the actor and context it is given, who may do what (`policy`) and where an intent is
declared and errors are worded (`intents`, `errors`), the message catalogues (`i18n`),
the text rules, time (`clock`, `business_days`), replay claims for redelivered
platform payloads (`replays`) and small lookups several intents share (`lookups`).
"""
