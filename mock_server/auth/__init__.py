"""Credentials and what they allow: secret keys (one environment each), public access
tokens (HS256 JWTs), the scope grammar, and which resources each operation needs."""
