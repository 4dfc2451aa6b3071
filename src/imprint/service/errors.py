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


class JobAlreadyEnded(DomainError):
    code = "B_JOB_ALREADY_ENDED"

    def __init__(self, what: str, status: str) -> None:
        super().__init__(f"{what} already ended with status {status}; only a job that has not ended can be "
                         "cancelled")


class DataNotFound(DomainError):
    code = "B_DATA_NOT_FOUND_EXCEPTION"


class IllegalTransition(DomainError):
    code = "UNKNOWN_ERROR"


class KeyNotFound(DomainError):
    code = "KEY_NOT_FOUND"


# Identity management (CLI and admin API), named after RAM's own error codes.
class AccountNotFound(DomainError):
    code = "EntityNotExist.Account"

    def __init__(self, account_id: str) -> None:
        super().__init__(f"The account does not exist: {account_id}")


class UserNotFound(DomainError):
    code = "EntityNotExist.User"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"The RAM user does not exist: {user_id}")


class PolicyNotFound(DomainError):
    code = "EntityNotExist.Policy"

    def __init__(self, policy_type: str, name: str) -> None:
        super().__init__(f"The {policy_type} policy does not exist: {name}")


class AlreadyExists(DomainError):
    code = "EntityAlreadyExists"

    def __init__(self, what: str, name: str) -> None:
        super().__init__(f"The {what} already exists: {name}")


class MalformedPolicy(DomainError):
    code = "MalformedPolicyDocument"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The policy document is malformed: " + "; ".join(problems))


class DeleteConflict(DomainError):
    code = "DeleteConflict"


class WebhookNotFound(DomainError):
    code = "EntityNotExist.Webhook"

    def __init__(self, endpoint_id: str) -> None:
        super().__init__(f"The webhook endpoint does not exist: {endpoint_id}")
