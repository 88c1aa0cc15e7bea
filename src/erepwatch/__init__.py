"""erepwatch: self-hosted e-reputation monitoring."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/erepwatch/erepwatch"
USER_AGENT = f"erepwatch/{__version__} (+{PROJECT_URL})"
