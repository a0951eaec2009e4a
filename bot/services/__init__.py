"""The application layer: one service per concern, called by every surface (API, demo, sidebar, app chat, CLI)."""
