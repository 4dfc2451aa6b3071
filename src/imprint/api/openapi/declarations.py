"""What each operation takes and answers, as JSON Schema: the one place an operation of the table
declares its parameters for the OpenAPI document. An operation added to `api/operations.py` adds its
entry here (the document test fails for an operation left undeclared).

GET operations take their parameters in the query string; POST operations in a JSON body (the old
SDK's form field `body` carries the same JSON and is described in the document's text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]

STATUS = {"type": "string", "enum": [
    "SUBMITTED", "WAIT_SCHEDULE", "TRAINING", "INFERRING", "FINISHED", "TRAINING_TERMINATED",
    "INFERRING_TERMINATED", "WRONG_IMAGE_URL", "OOM", "TOO_MANY_INFERENCE_REQUESTS"]}
NULLABLE_TEXT: Schema = {"type": ["string", "null"]}
PROGRESS: Schema = {"type": "number", "minimum": 0, "maximum": 1}
WARNINGS: Schema = {"type": "array", "items": {"type": "string"},
                    "description": "Inputs capped, cut or unlikely to work (imageNumber over 10, prompt "
                                   "words the base model does not know, a prompt cut at its token "
                                   "limit, pictures imprint-tiny cannot draw)."}
ETA: Schema = {"type": ["number", "null"], "minimum": 0,
               "description": "Seconds left, from the progress since the job started running; null while "
                              "it waits or has barely started, 0 when finished."}

INFERENCE_JOB: Schema = {
    "type": "object",
    "required": ["id", "promptId", "modelId", "jobStatus", "jobTrainProgress", "resultImageUrl",
                 "createTime"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "promptId": {"type": "string"},
        "modelId": {"type": "string"},
        "jobStatus": STATUS,
        "jobTrainProgress": PROGRESS,
        "resultImageUrl": {"type": ["array", "null"], "items": {"type": "string"},
                           "description": "Image ids once FINISHED, null before."},
        "createTime": {"type": "string", "description": "UTC, ISO-8601 without a zone, microseconds."},
        "createUserId": NULLABLE_TEXT,
        "failureReason": NULLABLE_TEXT,
        "controls": {"type": ["object", "null"], "description": "The generation controls asked for."},
        "warnings": WARNINGS,
        "etaSeconds": ETA,
    },
}

TRAIN_JOB: Schema = {
    "type": "object",
    "required": ["id", "modelId", "name", "objectType", "imageUrl", "jobStatus", "jobTrainProgress",
                 "inferenceJobList", "createTime"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "modelId": {"type": "string"},
        "name": {"type": "string"},
        "objectType": {"type": "string"},
        "imageUrl": {"type": "array", "items": {"type": "string"}},
        "jobStatus": STATUS,
        "jobTrainProgress": PROGRESS,
        "inferenceJobList": {"type": "array", "items": {"$ref": "#/components/schemas/InferenceJob"}},
        "inferenceImageCount": {"type": "integer"},
        "createTime": {"type": "string"},
        "failureReason": NULLABLE_TEXT,
        "warnings": WARNINGS,
        "etaSeconds": ETA,
    },
}

UPLOAD: Schema = {
    "type": "object",
    "required": ["uploadId", "imageUrl", "format", "width", "height", "size", "sha256"],
    "properties": {
        "uploadId": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "imageUrl": {"type": "string", "pattern": "^imprint://upload/[0-9a-f]{32}$",
                     "description": "For imageUrl of addModelTrainJob or addPreModelInferenceJob."},
        "format": {"type": "string"},
        "width": {"type": "integer", "minimum": 1},
        "height": {"type": "integer", "minimum": 1},
        "size": {"type": "integer", "minimum": 1},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
}

SCHEMAS: dict[str, Schema] = {"InferenceJob": INFERENCE_JOB, "TrainJob": TRAIN_JOB, "Upload": UPLOAD}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Declaration:
    summary: str
    params: tuple[Param, ...] = ()
    # The envelope's `data`; None for the image operations, which answer the image itself.
    result: Schema | None = None
    tags: tuple[str, ...] = ("v1",)
    # What an operation answering a file (result None) sends, by media type.
    files: tuple[str, ...] = ("image/png", "text/plain")
    extra_responses: dict[str, Any] = field(default_factory=dict)


# Strings are stored as given; NUL is refused (PostgreSQL cannot store it).
NO_NUL = "^[^\\u0000]*$"
TEXT: Schema = {"type": "string", "minLength": 1, "pattern": NO_NUL}
PROMPT: Schema = {"type": "string", "minLength": 1, "maxLength": 2000,
                  "pattern": "^[^\\u0000]*\\S[^\\u0000]*$", "description": "Not blank."}
URL: Schema = {"type": "string", "minLength": 1, "maxLength": 2048, "pattern": NO_NUL}
URLS: Schema = {"type": "array", "items": URL, "minItems": 1, "maxItems": 50,
                "description": "http(s) URLs of the photos (only public addresses are fetched), or "
                               "imprint://upload/<id> URLs of the caller's uploads (uploadImage)."}
SEED = Param("seed", {"type": "integer", "minimum": -1, "maximum": 2147483647},
             description="-1 or absent: the service picks one and keeps it.")
IMAGE_NUMBER = Param("imageNumber", {"type": "integer", "minimum": 1},
                     description="Images to make; above 10 is served as 10. Default 1.")
TRAIN_STEPS = Param("trainSteps", {"type": "integer", "minimum": 1, "maximum": 5000})
ENCODE_FORMAT = Param("encodeFormat", {"type": "string", "enum": ["", "base64"]},
                      description="Absent or empty: PNG bytes; base64: the Base64 text.")
CALLBACK = Param("callbackUrl", {"type": "string", "minLength": 1, "maxLength": 1000},
                 description="Called (signed per Standard Webhooks) when this job starts, finishes or "
                             "fails; only addresses image URLs could be fetched from. Not in the SDK models.")

# Optional fields of both inference operations (docs/api-decisions.md, "Generation controls").
GENERATION_CONTROLS = (
    Param("negativePrompt", {"type": "string", "maxLength": 2000, "pattern": NO_NUL}),
    Param("steps", {"type": "integer", "minimum": 1, "maximum": 200}),
    Param("guidanceScale", {"type": "number", "minimum": 0, "maximum": 30}),
    Param("width", {"type": "integer", "minimum": 64, "maximum": 2048, "multipleOf": 8},
          description="Also at most 4x the model's native side."),
    Param("height", {"type": "integer", "minimum": 64, "maximum": 2048, "multipleOf": 8}),
    Param("adapterScale", {"type": "number", "minimum": 0, "maximum": 2}),
    Param("scheduler", {"type": "string", "enum": ["dpmpp_2m", "euler_a", "euler", "ddim"]}),
)
MODEL_ID = Param("modelId", TEXT, True)
JOB_ID = Param("inferenceJobId", TEXT, True)

IMAGE_RESPONSES = {
    "304": {"description": "The If-None-Match ETag still matches."},
}

DECLARATIONS: dict[str, Declaration] = {
    "Personalizedtxt2imgAddModelTrainJob": Declaration(
        "Train a personalized model (DreamBooth-LoRA adapter) from photos of one subject.",
        (Param("name", {"type": "string", "minLength": 1, "maxLength": 256, "pattern": NO_NUL}, True),
         Param("objectType", {"type": "string", "minLength": 1, "maxLength": 64,
                              "pattern": "^[A-Za-z]+(?:[ -][A-Za-z]+)*$"}, True,
               "The subject's class word: girl, man, dog..."),
         Param("imageUrl", URLS, True), TRAIN_STEPS, CALLBACK),
        ref("TrainJob")),
    "Personalizedtxt2imgQueryModelTrainStatus": Declaration(
        "The status and progress of one model's training.",
        (Param("modelId", TEXT, True),),
        {"type": "object", "required": ["modelTrainStatus", "jobTrainProgress"],
         "properties": {"modelTrainStatus": STATUS, "jobTrainProgress": PROGRESS, "warnings": WARNINGS,
                        "etaSeconds": ETA}}),
    "Personalizedtxt2imgQueryModelTrainJobList": Declaration(
        "Every model the caller trained, with its inference jobs.", (),
        {"type": "array", "items": ref("TrainJob")}),
    "Personalizedtxt2imgAddInferenceJob": Declaration(
        "Render a trained model's subject into scenes from a prompt.",
        (Param("modelId", TEXT, True),
         Param("prompt", PROMPT, True, "Names the subject as <special-token>."),
         IMAGE_NUMBER, SEED, CALLBACK, *GENERATION_CONTROLS),
        ref("InferenceJob")),
    "Personalizedtxt2imgQueryInferenceJobInfo": Declaration(
        "One inference job (v1 or v2).", (Param("inferenceJobId", TEXT, True),), ref("InferenceJob")),
    "Personalizedtxt2imgQueryImageAsset": Declaration(
        "One generated image of a v1 job.",
        (Param("modelId", TEXT, True), Param("promptId", TEXT, True), Param("imageId", TEXT, True),
         ENCODE_FORMAT), None, extra_responses=IMAGE_RESPONSES),
    "PersonalizedTextToImageAddInferenceJob": Declaration(
        "Train on reference photos and render in one job (v2).",
        (Param("imageUrl", URLS, True),
         Param("prompt", PROMPT, True),
         TRAIN_STEPS, IMAGE_NUMBER, SEED,
         Param("strength", {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
               description="Clamped to 0.3-0.8; default 0.5."), CALLBACK, *GENERATION_CONTROLS),
        ref("InferenceJob"), ("v2",)),
    "PersonalizedTextToImageQueryPreModelInferenceJobInfo": Declaration(
        "One v2 inference job.", (Param("inferenceJobId", TEXT, True),), ref("InferenceJob"), ("v2",)),
    "PersonalizedTextToImageQueryImageAsset": Declaration(
        "One generated image by its service-wide id (v2).",
        (Param("imageId", TEXT, True), ENCODE_FORMAT), None, ("v2",), IMAGE_RESPONSES),
    # Beyond the contract (docs/api-decisions.md); a declaration only shows once the table has the row.
    "Personalizedtxt2imgCancelModelTrainJob": Declaration(
        "Cancel a model's training; it ends TRAINING_TERMINATED with the reason cancelled.",
        (MODEL_ID,), ref("TrainJob"), ("jobs",)),
    "Personalizedtxt2imgCancelInferenceJob": Declaration(
        "Cancel an inference job (v1 or v2); it ends INFERRING_TERMINATED with the reason cancelled.",
        (JOB_ID,), ref("InferenceJob"), ("jobs",)),
    "Personalizedtxt2imgDeleteModel": Declaration(
        "Delete a model: its adapter, training photos, inference jobs and their images.",
        (MODEL_ID,),
        {"type": "object", "required": ["modelId", "deletedInferenceJobs", "deletedImages"],
         "properties": {"modelId": {"type": "string"},
                        "deletedInferenceJobs": {"type": "array", "items": {"type": "string"}},
                        "deletedImages": {"type": "integer", "minimum": 0}}}, ("jobs",)),
    "Personalizedtxt2imgDeleteInferenceJob": Declaration(
        "Delete an inference job and its images.", (JOB_ID,),
        {"type": "object", "required": ["inferenceJobId", "deletedImages"],
         "properties": {"inferenceJobId": {"type": "string"},
                        "deletedImages": {"type": "integer", "minimum": 0}}},
        ("jobs",)),
    "Personalizedtxt2imgDownloadModel": Declaration(
        "Download a trained adapter: the safetensors file, or the kohya or diffusers export.",
        (MODEL_ID, Param("format", {"type": "string", "enum": ["safetensors", "kohya", "diffusers"]}),
         ENCODE_FORMAT),
        None, ("jobs",), files=("application/octet-stream", "application/zip", "text/plain")),
    "Personalizedtxt2imgUploadImage": Declaration(
        "Upload one photo (the request body: JPEG, PNG, WebP, GIF or BMP, up to 20 MB) to train on; "
        "its imageUrl names it in imageUrl of a training job of the same account.",
        (), ref("Upload"), ("uploads",)),
}
