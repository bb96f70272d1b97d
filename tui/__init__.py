"""errlog-tui: the Textual on-call console; it talks to the REST API only."""
