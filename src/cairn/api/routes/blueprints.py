"""``/blueprints``: upload (an archive or one YAML document), list, get, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from cairn import errors
from cairn.api import schemas, security
from cairn.services import blueprints

router = APIRouter(prefix="/blueprints", tags=["blueprints"])

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The blueprint: a tar.gz, tar or zip archive of its folder, or its main "
        "YAML document alone. The kind is told from the content.",
        "content": {
            "application/gzip": {"schema": {"type": "string", "format": "binary"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


@router.get(
    "",
    summary="List blueprints",
    description="Every blueprint on the manager, oldest first, without plans.",
)
def list_blueprints(
    manager: security.Manager, _caller: security.Viewer
) -> list[schemas.BlueprintOut]:
    return [schemas.blueprint_out(b) for b in blueprints.list_(manager)]


@router.get(
    "/{blueprint_id}",
    summary="Get a blueprint",
    description="One blueprint with its parsed plan (docs/plan-format.md).",
)
def get_blueprint(
    blueprint_id: str, manager: security.Manager, _caller: security.Viewer
) -> schemas.BlueprintDetail:
    return schemas.blueprint_detail(blueprints.get(manager, blueprint_id))


@router.put(
    "/{blueprint_id}",
    status_code=201,
    summary="Upload a blueprint",
    description="Stores and parses a blueprint under `blueprint_id`. The body is a tar.gz, tar "
    "or zip archive of the blueprint's folder (a single top folder is unwrapped), or the main "
    "YAML document itself. `main_file` names the main YAML inside the archive. A blueprint "
    "with problems is refused with every problem listed (422), each with its file, line and "
    "column.",
    openapi_extra=_UPLOAD_BODY,
)
async def upload_blueprint(
    blueprint_id: str,
    *,
    request: Request,
    manager: security.Manager,
    caller: security.Operator,
    main_file: Annotated[
        str | None, Query(description="The main YAML's path in the archive.")
    ] = None,
    description: Annotated[str | None, Query(description="Overrides the blueprint's.")] = None,
) -> schemas.BlueprintDetail:
    data = await _read_body(request)
    stored = await run_in_threadpool(
        lambda: blueprints.upload(
            manager,
            blueprint_id=blueprint_id,
            data=data,
            main_file=main_file,
            description=description,
            user=caller.user,
        )
    )
    return schemas.blueprint_detail(stored)


async def _read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise errors.UsageError(
                f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB"
            )
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise errors.UsageError("the request body is empty: send the blueprint archive or YAML")
    return data


@router.delete(
    "/{blueprint_id}",
    status_code=204,
    summary="Delete a blueprint",
    description="Removes a blueprint and its files. Refused (409) while deployments use it.",
)
def delete_blueprint(
    blueprint_id: str, manager: security.Manager, _caller: security.Operator
) -> Response:
    blueprints.delete(manager, blueprint_id)
    return Response(status_code=204)
