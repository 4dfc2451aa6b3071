"""The operations: parse, one service call, wrap. Named after the operation they serve."""

from __future__ import annotations

from imprint.api import wire
from imprint.api.call import Call, Ok, Reply
from imprint.api.images import encode_format, image_response
from imprint.api.urls import image_urls
from imprint.api.validation import (
    callback_url,
    controls,
    image_number,
    image_number_warnings,
    known_object_type,
    object_type,
    prompt,
    prompt_warnings,
    seed,
    strength,
    train_steps,
)
from imprint.ingest import FetchPolicy
from imprint.service import assets, inference, runs, training, uploads
from imprint.service.states import Status

MAX_NAME = 256


def add_model_train_job(call: Call) -> Reply:
    p, s = call.params, call.services.settings
    name = p.text("name", max_length=MAX_NAME)
    kind = known_object_type(object_type(p), call.services.vocabulary(), call.services.known_object_types)
    urls = image_urls(p, max_items=s.max_images_per_job)
    uploads.check_upload_urls(call.session, account_id=call.account_id, urls=urls)
    job = training.submit_train_job(
        call.session, account_id=call.account_id, user_id=call.user_id, name=name, object_type=kind,
        image_urls=urls,
        train_steps=train_steps(p, s), now=call.now, account_limit=s.max_active_jobs_per_account,
        callback_url=callback_url(p))
    if job.status == Status.SUBMITTED:
        call.enqueue(runs.TRAIN, job.id)
    return Ok(wire.train_job(job, call.now))


def query_model_train_status(call: Call) -> Reply:
    model_id = call.params.text("modelId")
    job = training.train_status(call.session, account_id=call.account_id, model_id=model_id)
    return Ok({"modelTrainStatus": job.status, "jobTrainProgress": job.progress,
               **wire.progress_extras(job, call.now)},
              notice=wire.failure_notice(job.status, job.failure_reason))


def query_model_train_job_list(call: Call) -> Reply:
    jobs = training.list_train_jobs(call.session, account_id=call.account_id)
    return Ok([wire.train_job(j, call.now) for j in jobs])


def add_inference_job(call: Call) -> Reply:
    p, s = call.params, call.services.settings
    text = prompt(p, s)
    job = inference.submit_inference_job(
        call.session, account_id=call.account_id, user_id=call.user_id, model_id=p.text("modelId"),
        prompt=text, image_number=image_number(p), seed=seed(p),
        queue_limit=s.inference_queue_size, now=call.now, account_limit=s.max_active_jobs_per_account,
        controls=controls(p, s), callback_url=callback_url(p),
        warnings=image_number_warnings(p) + prompt_warnings(text, call.services.vocabulary()))
    if job.status == Status.SUBMITTED:
        call.enqueue(runs.INFER, job.id)
    return Ok(wire.inference_job(job, call.now))


def query_inference_job_info(call: Call) -> Reply:
    job = inference.get_inference_job(call.session, account_id=call.account_id,
                                      job_id=call.params.text("inferenceJobId"))
    return Ok(wire.inference_job(job, call.now), notice=wire.failure_notice(job.status, job.failure_reason))


def query_image_asset(call: Call) -> Reply:
    p = call.params
    fmt = encode_format(p.opt_text("encodeFormat"))
    image = assets.find_image(
        call.open_session, account_id=call.account_id, model_id=p.text("modelId"),
        prompt_id=p.text("promptId"), image_id=p.text("imageId"), blobs=call.services.blobs,
        cache=call.services.assets)
    return image_response(image, fmt, if_none_match=call.if_none_match, request_id=call.request_id)


def add_pre_model_inference_job(call: Call) -> Reply:
    p, s = call.params, call.services
    text = prompt(p, s.settings)
    urls = image_urls(p, max_items=s.settings.max_images_per_job)
    uploads.check_upload_urls(call.session, account_id=call.account_id, urls=urls)
    job = inference.submit_premodel_job(
        call.session, account_id=call.account_id, user_id=call.user_id, image_urls=urls, prompt=text,
        object_type=inference.object_type_from_prompt(text, s.known_object_types, s.settings.v2_object_type),
        train_steps=train_steps(p, s.settings), image_number=image_number(p), seed=seed(p),
        strength=strength(p), controls=controls(p, s.settings),
        queue_limit=s.settings.inference_queue_size, now=call.now,
        account_limit=s.settings.max_active_jobs_per_account, callback_url=callback_url(p),
        warnings=image_number_warnings(p) + prompt_warnings(text, s.vocabulary()))
    if job.status == Status.SUBMITTED:
        call.enqueue(runs.PREMODEL, job.id)
    return Ok(wire.inference_job(job, call.now))


def query_pre_model_inference_job_info(call: Call) -> Reply:
    return query_inference_job_info(call)


def query_image_asset_from_image_id(call: Call) -> Reply:
    p = call.params
    fmt = encode_format(p.opt_text("encodeFormat"))
    image = assets.find_image_by_id(call.open_session, account_id=call.account_id, image_id=p.text("imageId"),
                                    blobs=call.services.blobs, cache=call.services.assets)
    return image_response(image, fmt, if_none_match=call.if_none_match, request_id=call.request_id)


def upload_image(call: Call) -> Reply:
    s = call.services
    item = uploads.store_upload(call.session, s.blobs, account_id=call.account_id, data=call.body,
                                policy=FetchPolicy(max_bytes=s.settings.max_image_bytes), now=call.now)
    return Ok(wire.upload(item))
