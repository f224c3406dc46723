"""GET /v2/me: the caller's team and key."""

from __future__ import annotations

from fastapi import APIRouter

from outframe.api.deps import CallerDep, ServicesDep
from outframe.api.schemas import KeyView, MeView, TeamView
from outframe.services.errors import NotFound
from outframe.store.models import Team

router = APIRouter(prefix="/v2", tags=["account"])


@router.get("/me", response_model=MeView)
def me(caller: CallerDep, services: ServicesDep) -> MeView:
    with services.db.session() as session:
        team = session.get(Team, caller.team_id)
        if team is None:
            raise NotFound("the key's team no longer exists")
        return MeView(
            team=TeamView(
                id=team.id,
                name=team.name,
                credits=team.credits,
                maxConcurrentJobs=team.max_concurrent_jobs,
            ),
            apiKey=KeyView(id=caller.key_id, name=caller.key_name),
        )
