"""The web console: support agents, the logistics team and the manager in a browser, over the services' HTTP APIs.

A people's tool like `cli/`: it calls the services with the signed-in user's bearer token and never imports them.
"""
