"""Evidence packs on real PostgreSQL: the zip holds the consent proof, the messages sent, the
suppressions, the erasure records and the audit excerpt with its verification, each file
under the SHA-256 the manifest names; for an erased subject it shows the certificate."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from typing import Any

from erasure_kit import (  # noqa: F401 - fixtures
    cipher_fixture,
    erasure_cells_fixture,
    org_id_fixture,
    seed_contact,
)

from compliance.audit import record
from compliance.crypto import PiiCipher
from compliance.erasure import CERTIFICATE, erase_subject, subject_ref
from compliance.evidence import EXPORTED, MANIFEST, build_evidence_pack
from warehouse.db import CONTROL, Cells

FILES = {
    "subject.json",
    "consent.json",
    "messages.json",
    "suppressions.json",
    "erasures.json",
    "audit.json",
    MANIFEST,
}


def _open(pack: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        raw = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(raw[MANIFEST])
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(raw[name]).hexdigest() == digest, name
    return {name: json.loads(body) for name, body in raw.items()}


def test_a_pack_holds_the_consent_proof_messages_suppressions_and_a_verified_excerpt(
    erasure_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID
) -> None:
    email, name = f"eva-{uuid.uuid4().hex[:8]}@example.org", "Eva Evidence"
    subject = seed_contact(erasure_cells, cipher, org_id, email, name, events=20, messages=3)

    files = _open(
        build_evidence_pack(erasure_cells, cipher, org_id, email, requested_by="test:dpo")
    )

    assert set(files) == FILES
    assert files["subject.json"]["email"] == email
    assert [c["name"] for c in files["subject.json"]["contacts"]] == [name]
    consent = files["consent.json"]
    assert [(c["purpose"], c["status"]) for c in consent["consents"]] == [("marketing", "granted")]
    event = consent["consent_events"][0]
    assert (event["action"], event["source"], event["ip"]) == (
        "granted",
        "signup_form",
        "203.0.113.7",
    )
    sent = {message["message_id"] for message in files["messages.json"]}
    assert sent == {str(message_id) for message_id in subject.message_ids}
    assert [s["reason"] for s in files["suppressions.json"]] == ["unsubscribe"]
    assert files["erasures.json"] == []
    eu = files["audit.json"]["eu"]
    assert eu["chain"]["intact"] and eu["chain"]["entries"] >= 1
    assert [entry["action"] for entry in eu["excerpt"]] == [
        "consent.granted",
        "preferences.updated",
    ]
    assert all(entry["hash_matches"] for entry in eu["excerpt"])
    assert files[MANIFEST]["subject"] == subject_ref(subject.blind_index)
    with erasure_cells.connection(CONTROL) as conn:
        exported = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = %s AND subject = %s",
            (EXPORTED, subject_ref(subject.blind_index)),
        ).fetchone()
    assert exported == (1,)


def test_a_pack_for_an_erased_subject_shows_the_erasure_and_its_certificate(
    erasure_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID
) -> None:
    email = f"gone-{uuid.uuid4().hex[:8]}@example.org"
    seed_contact(erasure_cells, cipher, org_id, email, "Gone Person", events=5, messages=1)
    result = erase_subject(erasure_cells, cipher, org_id, email, requested_by="test:dpo")

    files = _open(build_evidence_pack(erasure_cells, cipher, org_id, email, requested_by="test"))

    assert files["subject.json"]["contacts"] == []
    assert files["messages.json"] == []
    assert files["consent.json"] == {"consents": [], "consent_events": []}
    assert [s["reason"] for s in files["suppressions.json"]] == ["erasure"]
    assert [e["erasure_id"] for e in files["erasures.json"]] == [str(result.erasure_id)]
    for cell in ("eu", CONTROL):
        excerpt = files["audit.json"][cell]["excerpt"]
        assert CERTIFICATE in [entry["action"] for entry in excerpt]
        assert files["audit.json"][cell]["chain"]["intact"]


def test_a_tampered_chain_is_reported_as_broken_in_the_pack(
    erasure_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID
) -> None:
    email = f"tamper-{uuid.uuid4().hex[:8]}@example.org"
    seed_contact(erasure_cells, cipher, org_id, email, "Tess", events=1, messages=1)
    with erasure_cells.connection("apac") as conn:
        entry = record(conn, actor="test", action="test.entry", subject="tampered")
        # Behind the trigger's back, as a superuser could.
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            "UPDATE audit_log SET actor = 'someone else' WHERE audit_id = %s", (entry.audit_id,)
        )

    files = _open(build_evidence_pack(erasure_cells, cipher, org_id, email, requested_by="test"))

    chain = files["audit.json"]["apac"]["chain"]
    assert not chain["intact"]
    assert chain["first_break"]["audit_id"] == entry.audit_id
    assert files["audit.json"]["eu"]["chain"]["intact"]
