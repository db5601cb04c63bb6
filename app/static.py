"""Static files: gzip-compressed for clients that accept it, and with caching headers.

A hall of laptops on one Wi-Fi fetches the same 1.5 MB Plotly bundle: gzip makes it 0.5 MB. Files are compressed
once (when the app starts, or again when a file changes on disk), never per request. Vendored files carry their
version in their name, so browsers may keep them for a year; our own files are revalidated on every use (a
cheap 304 through their ETag), so a new deploy is seen at once.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

COMPRESSIBLE = {".js", ".css", ".json", ".svg", ".html", ".txt", ".map"}
MIN_BYTES = 1024  # smaller files gain less than the header costs
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Compressed:
    version: tuple[int, int]  # the file's (mtime_ns, size) when it was compressed
    body: bytes


def accepts_gzip(headers: Headers) -> bool:
    for coding in headers.get("accept-encoding", "").split(","):
        name, _, params = coding.partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00"):
            return True
    return False


class Static(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.root = directory.resolve()  # as lookup_path gives full paths: resolved
        self.compressed: dict[str, Compressed] = {}
        for file in sorted(directory.rglob("*")):
            if file.is_file():
                self._compress(str(file), file.stat())

    def _compress(self, full_path: str, stat: os.stat_result) -> Compressed | None:
        if Path(full_path).suffix not in COMPRESSIBLE or stat.st_size < MIN_BYTES:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        kept = self.compressed.get(full_path)
        if kept is None or kept.version != version:
            kept = Compressed(version, gzip.compress(Path(full_path).read_bytes(), compresslevel=9, mtime=0))
            self.compressed[full_path] = kept
        return kept

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        request = Headers(scope=scope)
        kept = self._compress(str(full_path), stat_result)
        response: Response
        if kept is None or not accepts_gzip(request) or "range" in request:
            response = super().file_response(full_path, stat_result, scope, status_code)
        else:
            plain = FileResponse(full_path, stat_result=stat_result)  # for its content type, ETag and date
            headers = {
                "content-type": plain.headers["content-type"],
                "etag": plain.headers["etag"][:-1] + '-gzip"',  # another body, so another tag
                "last-modified": plain.headers["last-modified"],
                "content-encoding": "gzip",
            }
            if self.is_not_modified(Headers(headers=headers), request):
                response = NotModifiedResponse(Headers(headers=headers))
            else:
                response = Response(kept.body, status_code=status_code, headers=headers)
        relative = Path(full_path).relative_to(self.root).as_posix()
        response.headers["cache-control"] = IMMUTABLE if relative.startswith("vendor/") else REVALIDATE
        if kept is not None:
            response.headers["vary"] = "Accept-Encoding"
        return response
