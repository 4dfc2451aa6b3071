"""Routing as data: the nine operations of API version 20240611 and imprint's own beyond them,
action -> (method, path, handler)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imprint.api import handlers as h
from imprint.api import job_handlers as jh
from imprint.api.call import Call, Reply
from imprint.auth.authorize import RAM_SERVICE

PREFIX = "/api/v1/personalizedtxt2img/"


@dataclass(frozen=True)
class Operation:
    action: str
    method: str
    path: str
    handler: Callable[[Call], Reply]
    # The RAM action a policy names (contract §2); only #7's differs from "aicontent:" + action.
    ram_name: str | None = None
    # The body is the payload itself (a photo's bytes), not parameters; it may be as large as one
    # training image (Settings.max_image_bytes) instead of the parameter body's cap.
    raw_body: bool = False

    @property
    def ram_action(self) -> str:
        return f"{RAM_SERVICE}:{self.ram_name or self.action}"


OPERATIONS: tuple[Operation, ...] = (
    Operation("Personalizedtxt2imgAddModelTrainJob", "POST", PREFIX + "addModelTrainJob",
              h.add_model_train_job),
    Operation("Personalizedtxt2imgQueryModelTrainStatus", "GET", PREFIX + "queryModelTrainStatus",
              h.query_model_train_status),
    Operation("Personalizedtxt2imgQueryModelTrainJobList", "GET", PREFIX + "queryModelTrainJobList",
              h.query_model_train_job_list),
    Operation("Personalizedtxt2imgAddInferenceJob", "POST", PREFIX + "addInferenceJob", h.add_inference_job),
    Operation("Personalizedtxt2imgQueryInferenceJobInfo", "GET", PREFIX + "queryInferenceJobInfo",
              h.query_inference_job_info),
    Operation("Personalizedtxt2imgQueryImageAsset", "GET", PREFIX + "queryImageAsset", h.query_image_asset),
    Operation("PersonalizedTextToImageAddInferenceJob", "POST", PREFIX + "addPreModelInferenceJob",
              h.add_pre_model_inference_job, ram_name="PersonalizedTextToImageAddPreModelInferenceJob"),
    Operation("PersonalizedTextToImageQueryPreModelInferenceJobInfo", "GET",
              PREFIX + "queryPreModelInferenceJobInfo", h.query_pre_model_inference_job_info),
    Operation("PersonalizedTextToImageQueryImageAsset", "GET", PREFIX + "queryImageAssetFromImageId",
              h.query_image_asset_from_image_id),
    # Beyond the contract (docs/api-decisions.md): each its own RAM action, aicontent:<action>.
    Operation("Personalizedtxt2imgCancelModelTrainJob", "POST", PREFIX + "cancelModelTrainJob",
              jh.cancel_model_train_job),
    Operation("Personalizedtxt2imgCancelInferenceJob", "POST", PREFIX + "cancelInferenceJob",
              jh.cancel_inference_job),
    Operation("Personalizedtxt2imgDeleteModel", "POST", PREFIX + "deleteModel", jh.delete_model),
    Operation("Personalizedtxt2imgDeleteInferenceJob", "POST", PREFIX + "deleteInferenceJob",
              jh.delete_inference_job),
    Operation("Personalizedtxt2imgDownloadModel", "GET", PREFIX + "downloadModel", jh.download_model),
    Operation("Personalizedtxt2imgUploadImage", "POST", PREFIX + "uploadImage", h.upload_image,
              raw_body=True),
)

BY_PATH: dict[str, Operation] = {op.path: op for op in OPERATIONS}
