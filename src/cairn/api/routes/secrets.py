"""``/secrets``: values for ``get_secret``, encrypted at rest; listings show names only."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cairn.api import schemas, security
from cairn.services import secrets

router = APIRouter(prefix="/secrets", tags=["secrets"])


@router.get(
    "",
    summary="List secrets",
    description="Every secret's name and dates, never a value.",
)
def list_secrets(manager: security.Manager, _caller: security.Viewer) -> list[schemas.SecretOut]:
    return [schemas.secret_out(s) for s in secrets.list_(manager)]


@router.get(
    "/{name}",
    summary="Get a secret's value",
    description="One secret with its value, for admins and operators.",
)
def get_secret(
    name: str, manager: security.Manager, caller: security.Operator
) -> schemas.SecretValue:
    found = secrets.get(manager, name)
    value = secrets.reveal(manager, name, caller=caller)
    return schemas.SecretValue(**schemas.secret_out(found).model_dump(), value=value)


@router.post(
    "",
    status_code=201,
    summary="Create a secret",
    description="Stores a new secret, encrypted. Refused (409) if the name is taken.",
)
def create_secret(
    body: schemas.SecretCreate, manager: security.Manager, caller: security.Admin
) -> schemas.SecretOut:
    created = secrets.create(manager, name=body.name, value=body.value, caller=caller)
    return schemas.secret_out(created)


@router.put(
    "/{name}",
    summary="Update a secret",
    description="Replaces an existing secret's value.",
)
def update_secret(
    name: str, body: schemas.SecretUpdate, manager: security.Manager, _caller: security.Admin
) -> schemas.SecretOut:
    return schemas.secret_out(secrets.update(manager, name=name, value=body.value))


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete a secret",
    description="Forgets a secret. Deployments that read it fail when they next evaluate it.",
)
def delete_secret(name: str, manager: security.Manager, _caller: security.Admin) -> Response:
    secrets.delete(manager, name)
    return Response(status_code=204)
