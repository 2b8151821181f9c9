"""The OpenAPI document is complete (every operation documents the statuses it can answer,
with the common error schema, and has examples), and the errors FastAPI and Starlette
raise themselves answer in the common ``{"code", "detail"}`` shape."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
from api_kit import Tenants

PUBLIC_PATHS = ("/t/", "/health", "/metrics", "/v1/auth/", "/v1/webhooks/esp/")
SIGNED_IN_ONLY = {("get", "/v1/me"), ("get", "/v1/factors"), ("put", "/v1/me/password")}
ERROR_SCHEMAS = {"#/components/schemas/ApiError", "#/components/schemas/InvalidRequest"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_documents_its_statuses_with_the_error_schema(api_url: str) -> None:
    document = httpx.get(f"{api_url}/openapi.json").json()
    schemas = document["components"]["schemas"]

    assert len(operations(document)) >= 45
    assert "HTTPValidationError" not in schemas
    for method, path, operation in operations(document):
        documented = set(operation["responses"])
        where = f"{method.upper()} {path}"
        assert any(s.startswith("2") or s == "302" for s in documented), where
        if not path.endswith(":import"):
            assert "504" in documented, where
        if not path.startswith(PUBLIC_PATHS):
            assert {"401", "429", "503"} <= documented, where
            assert (method, path) in SIGNED_IN_ONLY or "403" in documented, where
            assert operation["responses"]["429"]["headers"]["Retry-After"]["required"], where
        # (a contacts import reports each refused record in its 200 instead)
        if (operation.get("parameters") or "requestBody" in operation) and ":import" not in path:
            assert "422" in documented, where
        for status, response in operation["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            if status[0] in "45" and media and not path.startswith("/health"):
                assert media["schema"]["$ref"] in ERROR_SCHEMAS, (where, status)
                assert "example" in media, (where, status)
        if "422" in documented:
            ref = operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/InvalidRequest", where


def test_every_request_and_success_body_has_an_example_that_fits_its_schema(
    api_url: str,
) -> None:
    document = httpx.get(f"{api_url}/openapi.json").json()
    components = document["components"]
    checked = 0
    for method, path, operation in operations(document):
        bodies = list(operation.get("requestBody", {}).get("content", {}).items())
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                bodies += list(response.get("content", {}).items())
        for kind, media in bodies:
            if kind in ("application/x-protobuf", "image/gif", "text/html") or "text/plain" in kind:
                continue
            assert "example" in media or "examples" in media, (method, path, kind)
            if "json" in kind:
                schema = {**media["schema"], "components": components}
                jsonschema.Draft202012Validator(
                    schema, format_checker=jsonschema.FormatChecker()
                ).validate(media["example"])
                checked += 1
    assert checked >= 50


def test_request_validation_errors_answer_invalid_request_with_the_fields(
    tenants: Tenants,
) -> None:
    client = tenants.client(tenants.org())

    malformed = client.post(
        "/v1/templates", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    missing = client.post("/v1/templates", json={"name": "Autumn"})
    not_a_uuid = client.get("/v1/templates/not-a-uuid")
    bad_query = client.get("/v1/templates", params={"limit": "many"})
    not_utf8 = client.post(
        "/v1/templates", content=b'{"name": "\xff"}', headers={"content-type": "application/json"}
    )

    for answer in (malformed, missing, not_a_uuid, bad_query, not_utf8):
        body = answer.json()
        assert answer.status_code == 422, body
        assert body["code"] == "invalid_request" and body["errors"], body
        assert isinstance(body["detail"], str) and body["detail"]
    assert {tuple(e["loc"]) for e in missing.json()["errors"]} >= {
        ("body", "subject"),
        ("body", "html"),
    }
    assert not_a_uuid.json()["errors"][0]["loc"] == ["path", "template_id"]
    assert "query.limit" in bad_query.json()["detail"]
    assert "input" not in missing.json()["errors"][0]  # the values sent are not echoed


def test_unknown_paths_and_methods_answer_in_the_common_shape(api_url: str) -> None:
    unknown = httpx.get(f"{api_url}/v1/nothing-here")
    wrong_method = httpx.put(f"{api_url}/health")

    assert unknown.status_code == 404
    assert unknown.json() == {"code": "not_found", "detail": "no route /v1/nothing-here"}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    assert wrong_method.headers["allow"] == "GET"
