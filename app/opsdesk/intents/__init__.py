"""One module per thing the Ops desk can do: its preview and, where it writes, its execution on confirmation."""
