"""Protocol-buffer bodies: the committed generated module matches postwise.proto, and a
message sent as protobuf gets the same answer as the same message sent as JSON."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from api_kit import Tenants
from google.protobuf import json_format

from serving.auth import Role
from serving.ingest.schemas import MessageCreate
from serving.proto import postwise_pb2
from serving.proto.bodies import PROTOBUF, inline_schema

PROTO_DIR = Path(__file__).resolve().parents[2] / "serving" / "proto"


@pytest.mark.skipif(
    importlib.util.find_spec("grpc_tools") is None, reason="grpcio-tools is not installed"
)
def test_the_generated_module_matches_the_proto_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={tmp_path}",
         f"--pyi_out={tmp_path}", str(PROTO_DIR / "postwise.proto")],
        check=True,
    )  # fmt: skip
    for name in ("postwise_pb2.py", "postwise_pb2.pyi"):
        assert (tmp_path / name).read_text() == (PROTO_DIR / name).read_text(), (
            f"{name} is stale: run `make proto`"
        )


def test_every_field_of_the_json_body_has_its_protobuf_field() -> None:
    for model in ("RecipientCreate", "MessageCreate"):
        fields = set(getattr(postwise_pb2, model).DESCRIPTOR.fields_by_name)
        schema = inline_schema(MessageCreate)
        properties = schema["properties"] if model == "MessageCreate" else schema["properties"][
            "recipient"]["properties"]  # fmt: skip
        assert set(properties) == fields


def body(email: str, key: str) -> dict[str, object]:
    return {
        "recipient": {"email": email, "country": "JP", "attributes": {"tier": "gold"}},
        "subject": "Order {{order}}",
        "html": "<p>Order {{order}} shipped</p>",
        "variables": {"order": "A-7"},
        "campaign_type": "transactional",
        "sending_domain": "mail.acme.example",
        "idempotency_key": key,
    }


def test_json_and_protobuf_bodies_give_the_same_result(tenants: Tenants) -> None:
    client = tenants.client(tenants.org("apac"), Role.CAMPAIGN_MANAGER)
    as_json = client.post("/v1/messages", json=body("pat@example.org", "json-1"))
    encoded = json_format.ParseDict(
        body("pat@example.org", "proto-1"), postwise_pb2.MessageCreate()
    )
    as_proto = client.post(
        "/v1/messages",
        content=encoded.SerializeToString(),
        headers={"content-type": PROTOBUF, "accept": PROTOBUF},
    )

    assert (as_json.status_code, as_proto.status_code) == (201, 201), as_proto.text
    assert as_proto.headers["content-type"] == PROTOBUF
    answer = postwise_pb2.MessageAccepted.FromString(as_proto.content)
    decoded = json_format.MessageToDict(answer, preserving_proto_field_name=True)
    expected = as_json.json()
    for volatile in ("message_id", "scheduled_at"):
        assert decoded.pop(volatile) and expected.pop(volatile)
    expected["send_time"] = {k: v for k, v in expected["send_time"].items() if v is not None}
    assert decoded == expected  # same contact, region, status and send-time decision

    read = client.get(f"/v1/messages/{answer.message_id}", headers={"accept": PROTOBUF})
    message = postwise_pb2.MessagePublic.FromString(read.content)
    assert (message.message_id, message.region, message.status) == (
        answer.message_id,
        "apac",
        "queued",
    )


def test_a_protobuf_batch_and_a_broken_protobuf_body(tenants: Tenants) -> None:
    client = tenants.client(tenants.org("na"), Role.CAMPAIGN_MANAGER)
    batch = postwise_pb2.MessageBatchCreate()
    for i, email in enumerate(("quinn@example.org", "bad-address")):
        json_format.ParseDict(body(email, f"pb-{i}"), batch.messages.add())

    answered = client.post(
        "/v1/messages",
        content=batch.SerializeToString(),
        headers={
            "content-type": f"{PROTOBUF}; proto=postwise.v1.MessageBatchCreate",
            "accept": PROTOBUF,
        },
    )
    broken = client.post(
        "/v1/messages", content=b"\xff\xff\xff", headers={"content-type": PROTOBUF}
    )

    result = postwise_pb2.BatchPublic.FromString(answered.content)
    assert [(r.outcome, r.code) for r in result.results] == [
        ("accepted", ""),
        ("rejected", "invalid_address"),
    ]
    assert (broken.status_code, broken.json()["code"]) == (422, "invalid_body")
