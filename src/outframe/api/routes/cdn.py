"""/cdn on local storage: the result images, and nothing else kept beside them."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from outframe.services.runner import is_result_name


class ResultFiles(StaticFiles):
    """Serves `<jobId>-<n>.png` and `<jobId>-grid.png`; an inpaint's mask is an input of the
    job, not a result, and answers 404 like any name that is not there."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not is_result_name(path):
            raise HTTPException(404, f"no image {path!r} here")
        return await super().get_response(path, scope)
