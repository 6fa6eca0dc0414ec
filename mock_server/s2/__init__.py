"""S2, the stream store behind the channels: its wire formats, the stream names and access
tokens the fake hands out. (The endpoint serving it is :mod:`mock_server.handlers.s2`.)"""
