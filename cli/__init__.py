"""`fulfillment`: the command-line tool for people (support agents, logistics, operators)."""
