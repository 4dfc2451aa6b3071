"""Where a job's blobs live, by key prefix: what deleting a model or a job must remove."""

from __future__ import annotations


def training_photos_prefix(account_id: str, model_id: str) -> str:
    """The training photos as fetched, kept while the model trains (a restart resumes from them)."""
    return f"photos/{account_id}/{model_id}"


def images_prefix(account_id: str, prompt_id: str) -> str:
    """Every image of one inference job (its prompt id is unique)."""
    return f"images/{account_id}/{prompt_id}"
