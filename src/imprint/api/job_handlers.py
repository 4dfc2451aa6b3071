"""Handlers of the operations beyond the contract (docs/api-decisions.md): cancel, delete, download.
Parse, one service call, wrap, as the nine in handlers.py."""

from __future__ import annotations

from imprint.api import wire
from imprint.api.call import Call, Ok, Reply
from imprint.api.downloads import download_response
from imprint.api.images import encode_format
from imprint.service import cancel, deletion, downloads


def cancel_model_train_job(call: Call) -> Reply:
    job = cancel.cancel_model(call.session, account_id=call.account_id, model_id=call.params.text("modelId"),
                              now=call.now)
    return Ok(wire.train_job(job))


def cancel_inference_job(call: Call) -> Reply:
    job = cancel.cancel_inference_job(call.session, account_id=call.account_id,
                                      job_id=call.params.text("inferenceJobId"), now=call.now)
    return Ok(wire.inference_job(job))


def delete_model(call: Call) -> Reply:
    model_id = call.params.text("modelId")
    removal = deletion.delete_model(call.session, account_id=call.account_id, model_id=model_id,
                                    blobs=call.services.blobs, now=call.now)
    call.services.assets.discard(removal.asset_keys)
    return Ok({"modelId": model_id, "deletedInferenceJobs": [str(i) for i in removal.inference_job_ids],
               "deletedImages": removal.image_count})


def delete_inference_job(call: Call) -> Reply:
    job_id = call.params.text("inferenceJobId")
    removal = deletion.delete_inference_job(call.session, account_id=call.account_id, job_id=job_id,
                                            blobs=call.services.blobs, now=call.now)
    call.services.assets.discard(removal.asset_keys)
    return Ok({"inferenceJobId": job_id, "deletedImages": removal.image_count})


def download_model(call: Call) -> Reply:
    p = call.params
    encoding = encode_format(p.opt_text("encodeFormat"))
    download = downloads.download_adapter(
        call.session, account_id=call.account_id, model_id=p.text("modelId"),
        fmt=p.opt_text("format") or "safetensors", blobs=call.services.blobs,
        base_model=call.services.settings.base_model_source)
    return download_response(download, encoding, request_id=call.request_id)
