"""The daemon's small web side: health, Prometheus metrics, and a read-only page and Atom feed of mentions."""
