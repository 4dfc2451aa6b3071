"""`imprint init`: a data folder with its database, for provisioning accounts and keys before the
first `imprint serve` (management commands refuse a folder that has none)."""

from __future__ import annotations

import os

from imprint.cli.common import DataDir, console
from imprint.config import Settings, default_data_dir
from imprint.store.db import make_engine, migrate
from imprint.store.secret_box import load_server_key


def init(data_dir: DataDir = default_data_dir()) -> None:
    """Create the data folder, its database and server key (no account: `serve` makes the first one
    when there is none); running it again on a folder that has them changes nothing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, database_url=os.environ.get("IMPRINT_DATABASE_URL"))
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    load_server_key(data_dir)
    console.print(f"imprint data folder ready: {data_dir.resolve()}")
