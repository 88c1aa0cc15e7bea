"""The web app: mentions, trends, acts, management pages, Atom feeds, the JSON API, /healthz and /metrics."""
