"""What handlers receive by `Depends`: the `Site` that `create_app` keeps in `app.state`, and the form sent.

Nothing is captured in closures, so a router module stands on its own and
one `include_router` line adds it to the app.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from .formdata import FormData, parse_form
from .site import Site


def attach(app: FastAPI, site: Site) -> None:
    """Makes `site` the one every handler of `app` gets."""
    app.state.site = site


def site_of(app: FastAPI) -> Site:
    site: Site = app.state.site
    return site


def get_site(request: Request) -> Site:
    return site_of(request.app)


async def read_form(request: Request) -> FormData:
    """The browser's form (URL-encoded or multipart); `BodyError` (415, 400) when it is not one."""
    return parse_form(await request.body(), request.headers.get("content-type"))


SiteDep = Annotated[Site, Depends(get_site)]
FormDep = Annotated[FormData, Depends(read_form)]
