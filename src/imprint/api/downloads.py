"""The adapter download: the file itself (or a zip of several), raw or as Base64 text."""

from __future__ import annotations

import base64
import io
import zipfile

from starlette.responses import Response

from imprint.service.downloads import AdapterDownload


def download_response(download: AdapterDownload, fmt: str | None, *, request_id: str) -> Response:
    if len(download.files) == 1:
        name, data = next(iter(download.files.items()))
        media = "application/octet-stream"
    else:
        name, media = f"{download.model_id}.zip", "application/zip"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for file_name, content in download.files.items():
                archive.writestr(file_name, content)
        data = buf.getvalue()
    headers = {"x-acs-request-id": request_id, "Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "base64":
        return Response(base64.b64encode(data), media_type="text/plain; charset=utf-8", headers=headers)
    return Response(data, media_type=media, headers=headers)
