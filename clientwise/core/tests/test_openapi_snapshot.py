"""The API schema is a contract: any change must be deliberate (snapshot + changelog entry)."""

import json
import os
from pathlib import Path

from clientwise.api import api

SNAPSHOT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def current_schema() -> str:
    return json.dumps(api.get_openapi_schema(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_openapi_schema_matches_snapshot():
    schema = current_schema()
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(schema, encoding="utf-8")
    assert SNAPSHOT.exists(), "docs/openapi.json is missing: run with UPDATE_OPENAPI_SNAPSHOT=1"
    assert schema == SNAPSHOT.read_text(encoding="utf-8"), (
        "The API schema changed. If that is intended, regenerate docs/openapi.json with UPDATE_OPENAPI_SNAPSHOT=1 "
        "and add an entry to docs/api-changelog.md."
    )


def test_every_operation_has_a_summary_and_error_shape():
    schema = api.get_openapi_schema()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
