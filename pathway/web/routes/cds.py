"""CDS Hooks: `GET /cds-services` and `POST /cds-services/{id}` (the protocol is in `..cds`).

Thin: read the call with the shared reader, answer with the card or the
refusal. Kept out of /openapi.json: their contract is the CDS Hooks
specification, and discovery describes them. Nothing in an answer may run.
"""
from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ...errors import CrossCheckMismatch, InputError
from ..api import problems_out
from ..cds import SERVICE_ID, CardsResponse, Refusal, card_for, dump, referral_in, services, unreadable
from ..dependencies import SiteDep
from ..formdata import media_type
from ..jsonbody import Unreadable, read_referral
from ..proxy import public_base
from ..security import DATA_CSP
from ..site import disagreement

HEADERS: Final = {"content-security-policy": DATA_CSP}

router = APIRouter(include_in_schema=False)


def _json(status: int, body: bytes) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=HEADERS)


def _detail(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=HEADERS)


@router.get("/cds-services")
async def cds_discovery(site: SiteDep) -> Response:
    return _json(200, dump(services(site)))


@router.post("/cds-services/{service_id}")
async def cds_service(service_id: str, request: Request, site: SiteDep) -> Response:
    if service_id != SERVICE_ID:
        return _detail(404, "no such CDS service; GET /cds-services lists them")
    if media_type(request.headers.get("content-type")) != "application/json":
        return _detail(415, "send the CDS Hooks request as application/json")
    try:
        values = read_referral(site.pathway, await request.body(), referral_in)
        if values is None:  # no form for this patient: no decision support
            return _json(200, dump(CardsResponse(cards=[])))
        report = site.report(values)
    except Unreadable as exc:
        return _detail(400, unreadable(exc))
    except InputError as exc:
        return _json(422, problems_out(exc.problems).model_dump_json().encode("utf-8"))
    except Refusal as exc:
        return _detail(exc.status, exc.detail)
    except CrossCheckMismatch as exc:
        return _detail(500, disagreement(exc))
    return _json(200, dump(CardsResponse(cards=[card_for(report, public_base(request), site.pathway.short_title)])))
