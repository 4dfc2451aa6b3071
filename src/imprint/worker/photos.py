"""A training job's photos: fetched once and stored while the model trains, so that a restart
resumes from them (a presigned URL may have expired by then); removed after training unless the
server keeps them (`--keep-training-photos`). Photos uploaded for it (`imprint://upload/...`) are
read from the blob store and removed once the training has ended."""

from __future__ import annotations

import io

from PIL import Image

from imprint.ingest import fetch_images
from imprint.service.blob_names import training_photos_prefix
from imprint.service.runs import TrainWork
from imprint.service.uploads import remove_uploads, upload_reader
from imprint.worker.context import WorkerContext


def _key(work: TrainWork, index: int) -> str:
    return f"{training_photos_prefix(work.account_id, work.model_id)}/{index:04d}.png"


def training_photos(ctx: WorkerContext, work: TrainWork) -> list[Image.Image]:
    """The stored photos of an earlier attempt, else the URLs fetched (ImageFetchError) and stored."""
    count = len(work.image_urls)
    if all(ctx.blobs.exists(_key(work, i)) for i in range(count)):
        return [Image.open(io.BytesIO(ctx.blobs.read_bytes(_key(work, i)))).convert("RGB")
                for i in range(count)]
    images = fetch_images(work.image_urls, ctx.fetch_policy,
                          uploads=upload_reader(ctx.blobs, work.account_id))
    for i, image in enumerate(images):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        ctx.blobs.put_bytes(_key(work, i), buf.getvalue())
    return images


def after_training(ctx: WorkerContext, work: TrainWork, *, model_kept: bool) -> None:
    """Once training ended (any way but shutdown): the photos go unless the server keeps them for a
    model that still exists."""
    if not (ctx.keep_training_photos and model_kept):
        ctx.blobs.delete_prefix(training_photos_prefix(work.account_id, work.model_id))
    # An upload serves the training that names it; what is kept is the copy above, if anything.
    with ctx.sessions.begin() as session:
        remove_uploads(session, ctx.blobs, account_id=work.account_id, urls=work.image_urls)
