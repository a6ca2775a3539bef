"""The running process: wiring settings to a database and context (`wiring`), the web app
`serve` runs (`serve`, `web`), the scheduler's clock (`scheduler`), Slack's job worker
process (`worker`), the edges that catch anything and log it with a reference (`edge`),
outage handling (`outage`) and log redaction (`redact`).
"""
