"""imprint: self-hosted personalized text-to-image."""

__version__ = "0.1.0"
