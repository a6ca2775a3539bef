"""Process wiring: configuration, the command line, platform adapters, the demo."""
