"""Process wiring and the adapters: configuration (`config`), the command line (`cli`),
the running process (`runtime`: wiring, the web app, the scheduler, the Slack worker,
the edges that log a reference), sending the outbox (`delivery`), the chat adapters
(`slack`, `teams`), the terminal (`console`), the browser desk (`desk`) and the demo
(`demo`)."""
