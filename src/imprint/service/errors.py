"""Domain errors. Each carries an Alibaba-style code; imprint.api.error_map turns them into HTTP."""

from __future__ import annotations


class DomainError(Exception):
    code = "UNKNOWN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingParameter(DomainError):
    code = "B_PARAMETER_NOT_FOUND_EXCEPTION"

    def __init__(self, name: str) -> None:
        super().__init__(f"Required parameter '{name}' was not found")
        self.name = name


class InvalidParameter(DomainError):
    code = "B_PARAMETER_INVALID_EXCEPTION"

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"Invalid parameter '{name}': {why}")
        self.name = name


class MalformedBody(DomainError):
    code = "B_PARAMETER_INVALID_EXCEPTION"


class ModelNotFound(DomainError):
    code = "B_MODEL_TRAIN_JOB_NOT_EXIST"

    def __init__(self, model_id: str) -> None:
        super().__init__(f"Model training job does not exist: {model_id}")


class ModelNotReady(DomainError):
    code = "B_MODEL_TRAIN_JOB_NOT_FINISHED"

    def __init__(self, model_id: str, status: str) -> None:
        super().__init__(f"Model {model_id} cannot run inference: its training job is {status}")


class InferenceJobNotFound(DomainError):
    code = "B_INFERENCE_JOB_NOT_EXIST"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Inference job does not exist: {job_id}")


class DataNotFound(DomainError):
    code = "B_DATA_NOT_FOUND_EXCEPTION"


class IllegalTransition(DomainError):
    code = "UNKNOWN_ERROR"


class KeyNotFound(DomainError):
    code = "KEY_NOT_FOUND"
