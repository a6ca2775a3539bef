"""Platform-neutral intents: plain data in, a `Reply` out.

Adapters (Slack, Teams, the terminal, the desk) call them through `handlers.router`
(action ids, form submissions and typed commands to the declared intents) and render
the reply; nothing here knows which platform asked. The packages, by concept:

- `core`: the reply and form model, policy and the one error path, text, time and the
  business-day calendar;
- `people`: the roster, each person's home, menu, guidance and settings;
- `intake`: requests coming in, the prefecture's decisions, the approval card;
- `scheduling`: booking, slots, diaries, the rules every booking keeps, invites, feeds;
- `planning`: the season planner, the season plan, quota figures;
- `fieldwork`: BPR engagements and steps, logs and minutes, reminders, check-ins;
- `notifications`: notices, the digest, what each tick sets in motion, addresses;
- `documents`: the documents, workbook, case book and the submission bundle;
- `desk`: the browser desk's pages and sign-in;
- `record`: the consistency check over a whole database (`python -m bot check`).
"""
