"""The `openses` command: server, quickstart, operator administration, captured messages."""
