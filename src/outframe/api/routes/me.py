"""GET /v2/me (the caller's team and key) and GET /v2/models (what this server runs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from outframe.api.deps import CallerDep, ServicesDep
from outframe.api.openapi import documented_error
from outframe.api.schemas import KeyView, MeView, ModelCatalog, TeamView, UserView
from outframe.services.domain import Action
from outframe.services.errors import NotFound
from outframe.services.views import MODEL
from outframe.store.models import ApiKey, Team

router = APIRouter(prefix="/v2", tags=["account"])

PLAN = "self-hosted"


@router.get("/me", response_model=MeView)
def me(caller: CallerDep, services: ServicesDep) -> MeView:
    """apiframe's shape. outframe has no users: the `user` is the API key itself (its id, an
    address under the reserved .invalid domain, role OWNER), which is also what scope=user of
    GET /v2/jobs means."""
    with services.db.session() as session:
        team = session.get(Team, caller.team_id)
        key = session.get(ApiKey, caller.key_id)
        if team is None or key is None:
            raise NotFound("the key's team no longer exists")
        return MeView(
            user=UserView(id=key.id, email=f"key-{key.id}@outframe.invalid", role="OWNER"),
            team=TeamView(
                id=team.id,
                name=team.name,
                credits=team.credits,
                plan=PLAN,
                customerId=None,
                maxConcurrentJobs=team.max_concurrent_jobs,
            ),
            apiKey=KeyView(id=key.id, name=key.name, prefix=key.prefix),
        )


@router.get(
    "/models",
    response_model=ModelCatalog,
    responses={400: documented_error("modality is not image, video or music")},
)
def models(
    services: ServicesDep,
    modality: Annotated[Literal["image", "video", "music"] | None, Query()] = None,
) -> dict[str, Any]:
    """Public (no key), as apiframe's: the one model this server runs, and its engine."""
    costs = [action.cost for action in Action if action.cost]
    entry = {
        "id": MODEL,
        "label": "Midjourney (outframe)",
        "modality": "image",
        "description": "apiframe's Midjourney API (generate, upsample, variation, outpaint, "
        "pan, inpaint), made on this server by its "
        f"{services.settings.engine} engine; and zoom videos of chains of zoom-outs "
        "(POST /v2/videos/zoom, priced by their length)",
        "pricingMode": "flat",
        "costMin": min(costs),
        "costMax": max(costs),
        "engine": services.settings.engine,
        "actions": [action.value for action in Action],
    }
    return {"models": [entry] if modality in (None, "image") else []}
