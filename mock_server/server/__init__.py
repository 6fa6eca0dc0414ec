"""The top layer: the command line (``trigger-mock serve`` and ``trigger-mock contract``) and
running the assembled app under uvicorn, with hypercorn on the S2 port."""
