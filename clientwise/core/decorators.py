"""View helpers shared by every app's pages."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, NotFound, ValidationFailed


def perm_required(perm: str):
    """Page decorator: anonymous users go to the login page; signed-in users without `perm` get the 403 page; a
    record the user may not see (a query's NotFound) is the same 404 page as a missing one."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not perms.has_perm(request.user, perm):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None

        return login_required(wrapped)

    return decorator


def add_domain_error(form, exc: DomainError) -> None:
    """Show a service's DomainError (or every error of a ValidationFailed) on the form, next to its field."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
    for err in errors:
        field = err.field if err.field in form.fields else None
        form.add_error(field, err.message)
