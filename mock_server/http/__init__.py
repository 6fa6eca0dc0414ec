"""HTTP concerns and nothing else: the edge middleware, request bodies and queries, schema
issues, responses and the one error renderer, security handlers, the request journal, the
fast lane, and the one module that touches Connexion's internals."""
