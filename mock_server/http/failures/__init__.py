"""Failure on demand: fault rules (statuses, delays, drops, slow and cut answers) and the
deployed rate limiter, applied by one edge layer in front of the API."""
