"""``/tokens``: API tokens and their roles (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.api import schemas, security
from cairn.services import auth

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get(
    "",
    summary="List tokens",
    description="Every token's id, role, description and whether it is revoked; never the "
    "token itself (only its digest is stored).",
)
def list_tokens(manager: security.Manager, _caller: security.Admin) -> list[schemas.TokenOut]:
    return [schemas.token_out(t) for t in auth.list_(manager)]


@router.post(
    "",
    status_code=201,
    summary="Create a token",
    description="A new token with a role: viewer reads; operator also runs workflows and "
    "manages blueprints and deployments; admin may do everything. The token is in this answer "
    "only. Role `agent` is refused (400): an agent token belongs to a site and comes from "
    "`POST /sites/{name}/token`.",
    responses={400: {"model": schemas.ErrorOut, "description": "Role agent asked for."}},
)
def create_token(
    body: schemas.TokenCreate, manager: security.Manager, _caller: security.Admin
) -> schemas.TokenCreated:
    issued = auth.issue(manager, role=body.role, description=body.description)
    return schemas.token_created(issued)


@router.delete(
    "/{token_id}",
    summary="Revoke a token",
    description="The token stops working at once. It stays listed, marked revoked.",
)
def revoke_token(
    token_id: str, manager: security.Manager, _caller: security.Admin
) -> schemas.TokenOut:
    return schemas.token_out(auth.revoke(manager, token_id))
