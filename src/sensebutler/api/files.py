"""``/v4/filecopy``, ``/v4/filemove``, ``/v4/filedelete``, ``/v4/createdir``, ``/v4/createdirqvd``."""

from __future__ import annotations

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError
from sensebutler.services.files import FileOperations, normalise

TAG = "File operations"
_PATH = Field(min_length=1, max_length=4096)
RESPONSES: dict[int | str, dict[str, str]] = {
    403: {"description": "The path is not inside an approved directory (checked before the disk is read)"},
    409: {"description": "The destination exists and overwrite is false"},
    500: {"description": "The operation failed on disk"},
}


class CopyRequest(BaseModel):
    fromFile: str = _PATH
    toFile: str = _PATH
    overwrite: bool = False
    preserveTimestamp: bool = False


class MoveRequest(BaseModel):
    fromFile: str = _PATH
    toFile: str = _PATH
    overwrite: bool = False


class DeleteRequest(BaseModel):
    deleteFile: str = _PATH


class DirectoryRequest(BaseModel):
    directory: str = _PATH


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    def ops() -> FileOperations:
        if ctx.files is None:  # pragma: no cover - made whenever a file switch is on
            raise ApiError(503, "File operations are not set up")
        return ctx.files

    @ctx.route(
        api,
        "file_copy",
        "PUT",
        "/v4/filecopy",
        status_code=201,
        response_model=CopyRequest,
        responses=RESPONSES,
    )
    async def file_copy(body: CopyRequest = Body()) -> CopyRequest:
        """Copy a file (or a directory, recursively) between an approved pair of directories."""
        await ops().copy(
            body.fromFile, body.toFile, overwrite=body.overwrite, preserve_timestamp=body.preserveTimestamp
        )
        return CopyRequest(
            fromFile=normalise(body.fromFile),
            toFile=normalise(body.toFile),
            overwrite=body.overwrite,
            preserveTimestamp=body.preserveTimestamp,
        )

    @ctx.route(
        api,
        "file_move",
        "PUT",
        "/v4/filemove",
        status_code=201,
        response_model=MoveRequest,
        responses=RESPONSES,
    )
    async def file_move(body: MoveRequest = Body()) -> MoveRequest:
        """Move a file between an approved pair of directories."""
        await ops().move(body.fromFile, body.toFile, overwrite=body.overwrite)
        return MoveRequest(
            fromFile=normalise(body.fromFile), toFile=normalise(body.toFile), overwrite=body.overwrite
        )

    @ctx.route(api, "file_delete", "DELETE", "/v4/filedelete", status_code=204, responses=RESPONSES)
    async def file_delete(body: DeleteRequest = Body()) -> Response:
        """Delete a file (a directory: with its contents) inside an approved directory."""
        await ops().delete(body.deleteFile)
        return Response(status_code=204)

    @ctx.route(
        api,
        "create_dir",
        "POST",
        "/v4/createdir",
        status_code=201,
        response_model=DirectoryRequest,
        responses=RESPONSES,
    )
    async def create_dir(body: DirectoryRequest = Body()) -> DirectoryRequest:
        """Create a directory (with its parents) below one of ``api.files.create_dir_roots``."""
        await ops().create_dir(body.directory)
        return body

    @ctx.route(
        api,
        "create_dir_qvd",
        "POST",
        "/v4/createdirqvd",
        status_code=201,
        response_model=DirectoryRequest,
        responses=RESPONSES,
    )
    async def create_dir_qvd(body: DirectoryRequest = Body()) -> DirectoryRequest:
        """Create a directory (with its parents) below the QVD folder (``api.files.qvd_path``)."""
        await ops().create_dir_qvd(body.directory)
        return body

    return api
