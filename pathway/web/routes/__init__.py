"""The app's routes, one `APIRouter` per area (the form pages, the JSON API, CDS Hooks).

A handler takes what it shares from `..dependencies` (`site: SiteDep`), never
from a closure: a new page is a new module here and one `include_router` line
in `create_app`.
"""
