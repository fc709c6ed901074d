"""JSON API of data-subject requests: parse, call privacy.services / privacy.queries, return schemas. Holders of
privacy.manage only (administrators); requests follow their customer's visibility."""

from __future__ import annotations

from ninja import Query, Router
from ninja.responses import Status

from clientwise.core import permissions as perms
from clientwise.privacy import queries, services
from clientwise.privacy.perms import MANAGE_PRIVACY
from clientwise.privacy.schemas import (
    CompleteIn,
    EraseIn,
    Kind,
    PersonalDataExport,
    RejectIn,
    Sort,
    StatusFilter,
    SubjectRequestIn,
    SubjectRequestOut,
    SubjectRequestPage,
)

router = Router(tags=["privacy"])


def _user(request):
    user = request.auth
    perms.require(user, MANAGE_PRIVACY)
    return user


def _fresh(request, req):
    """The request as the API shows it (with its exports, read from the audit log)."""
    return queries.get_request_for(request.auth, req.pk)


@router.get("/privacy/requests", response=SubjectRequestPage, summary="Data-subject requests")
def list_requests(request, status: StatusFilter = StatusFilter.active, kind: Kind | None = None,
                  overdue: bool = False, customer_id: int | None = Query(None, ge=1, le=2 ** 62),  # noqa: B008
                  sort: Sort = Sort.due_on, cursor: str | None = Query(None, max_length=1000),  # noqa: B008
                  size: int = Query(25, ge=1, le=200)):  # noqa: B008
    """Open or in-progress requests by default (status=active), soonest due first; `overdue=true` keeps those past
    their due day. Only requests about customers you may see."""
    user = _user(request)
    f = queries.RequestFilters(status=status.value, kind=kind.value if kind else "", overdue=overdue,
                               customer_id=customer_id)
    page = queries.request_page(user, f, sort=sort.value, cursor=cursor, size=size)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/privacy/requests", response={201: SubjectRequestOut}, summary="Log a data-subject request")
def create_request(request, payload: SubjectRequestIn):
    """The due day is computed from `received_at` (local date) and the deadline setting (PRIVACY_RESPONSE_DEADLINE,
    default 15 working days). A customer merged into another answers 409 customer_merged, naming the record the
    request belongs to."""
    user = _user(request)
    req = services.create_request(actor=user, customer_id=payload.customer_id, kind=payload.kind.value,
                                  received_at=payload.received_at, received_via=payload.received_via.value,
                                  notes=payload.notes)
    return Status(201, _fresh(request, req))


@router.get("/privacy/requests/{int:request_id}", response=SubjectRequestOut, summary="One data-subject request")
def get_request(request, request_id: int):
    return queries.get_request_for(_user(request), request_id)


@router.post("/privacy/requests/{int:request_id}/start", response=SubjectRequestOut, summary="Start handling")
def start(request, request_id: int):
    return _fresh(request, services.start_request(actor=_user(request), request_id=request_id))


@router.post("/privacy/requests/{int:request_id}/reject", response=SubjectRequestOut, summary="Reject a request")
def reject(request, request_id: int, payload: RejectIn):
    req = services.reject_request(actor=_user(request), request_id=request_id, reason=payload.reason)
    return _fresh(request, req)


@router.post("/privacy/requests/{int:request_id}/complete", response=SubjectRequestOut,
             summary="Close an access or correction request as done")
def complete(request, request_id: int, payload: CompleteIn):
    """An access request needs an export first (409 not_exported)."""
    req = services.complete_request(actor=_user(request), request_id=request_id, resolution=payload.resolution)
    return _fresh(request, req)


@router.post("/privacy/requests/{int:request_id}/withdraw-consent", response=SubjectRequestOut,
             summary="Withdraw every consent of the person")
def withdraw_consent(request, request_id: int):
    return _fresh(request, services.withdraw_consent(actor=_user(request), request_id=request_id))


@router.post("/privacy/requests/{int:request_id}/erase", response=SubjectRequestOut,
             summary="Erase the person's data in every app")
def erase(request, request_id: int, payload: EraseIn):
    """Irreversible: `confirm` must be the customer's number (422 confirmation_mismatch otherwise). Orders keep
    their accounting facts on the anonymised customer; files on disk are cleaned after the commit (file_status)."""
    req = services.erase_personal_data(actor=_user(request), request_id=request_id, confirm=payload.confirm)
    return _fresh(request, req)


@router.post("/privacy/requests/{int:request_id}/retry-files", response=SubjectRequestOut,
             summary="Run an erasure's file clean-up again")
def retry_files(request, request_id: int):
    return _fresh(request, services.retry_file_cleanup(actor=_user(request), request_id=request_id))


@router.get("/privacy/requests/{int:request_id}/export", response=PersonalDataExport,
            summary="Everything held about the person of an access request")
def export(request, request_id: int):
    """Every app's section of the person's data, labels in the reader's language. Needs the view_pii right too
    (403 needs_pii_right); audited as privacy.export."""
    return services.export_as_json(services.export_data(actor=_user(request), request_id=request_id, fmt="json"))
