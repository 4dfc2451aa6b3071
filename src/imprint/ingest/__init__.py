"""Fetching caller-supplied image URLs and decoding them, under a policy that keeps the caller out of
the server's network and its memory."""

from imprint.ingest.addresses import parse_networks
from imprint.ingest.decode import ImageRejected, decode_image
from imprint.ingest.fetch import ImageFetchError, download, fetch_images
from imprint.ingest.policy import FetchPolicy, URLRejected

__all__ = ["FetchPolicy", "ImageFetchError", "ImageRejected", "URLRejected", "decode_image", "download",
           "fetch_images", "parse_networks"]
