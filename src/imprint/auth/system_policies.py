"""Built-in policies every account can attach by name (PolicyType "System"), like Alibaba's
``Aliyun*FullAccess``/``ReadOnlyAccess`` ones. The names are imprint's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SYSTEM = "System"
CUSTOM = "Custom"

SYSTEM_POLICIES: Mapping[str, Mapping[str, Any]] = {
    "AliyunAiContentFullAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "aicontent:*", "Resource": "*"}],
    },
    "AliyunAiContentReadOnlyAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": ["aicontent:Personalizedtxt2imgQuery*",
                                                     "aicontent:PersonalizedTextToImageQuery*"],
                       "Resource": "*"}],
    },
}
