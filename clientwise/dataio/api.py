"""JSON API for dataio: parse, call queries/services, return schemas. No business rules here."""

from ninja import Router

router = Router(tags=["dataio"])

from clientwise.dataio.exports import router as exports_router  # noqa: E402

router.add_router("", exports_router)

from clientwise.dataio.import_api import router as imports_router  # noqa: E402

router.add_router("", imports_router)
