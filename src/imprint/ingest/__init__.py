"""Fetching caller-supplied image URLs under a policy."""

from imprint.ingest.fetch import ImageFetchError, fetch_images
from imprint.ingest.policy import FetchPolicy

__all__ = ["FetchPolicy", "ImageFetchError", "fetch_images"]
