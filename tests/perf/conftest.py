from __future__ import annotations

import sys
from pathlib import Path

# The security suite's kit seeds tenants, RAM users and images through the service layer; these
# tests use it rather than a copy of it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
