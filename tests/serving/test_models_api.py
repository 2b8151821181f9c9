"""The model endpoints against the live API: send times from the scores, the champion or
the cohort heuristic, each saying which; personalization; anomalies; tenant isolation; and
MLflow unreachable (the heuristic answers, degraded) or serving a real champion."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from api_kit import Tenants, serve
from campaign_kit import add_contact
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel
from mlflow.tracking import MlflowClient
from ops_kit import CellRows, rows_fixture  # noqa: F401 (a fixture)

from postwise.settings import Settings
from serving.api.main import create_app
from serving.auth import Role
from serving.campaigns.send import Content, send_campaign
from serving.campaigns.store import Campaign
from serving.client import PostwiseClient
from serving.modelserving import ChampionCache, mlflow_loader
from serving.modelserving.service import ModelServing
from serving.resilience.breakers import Breakers
from serving.resilience.metrics import ApiMetrics
from simulator.esp import free_port
from warehouse.db import Cells


def test_send_time_answers_from_scores_else_the_cohort_and_says_which(
    tenants: Tenants, rows: CellRows
) -> None:
    tenant = tenants.org("eu")
    client = tenants.client(tenant, Role.ANALYST)
    scored = rows.contact(tenant.org_id)
    rows.score(tenant.org_id, scored, hour_utc=17, probability=0.31, version="7")
    unscored = rows.contact(tenant.org_id)

    from_scores = client.get(f"/v1/send-time/{scored}").json()
    from_cohort = client.get(f"/v1/send-time/{unscored}").json()

    assert from_scores["source"] == "scores" and from_scores["model_version"] == "7"
    assert (from_scores["best_hour_utc"], from_scores["best_local_hour"]) == (17, 18)
    assert from_scores["open_probability"] == pytest.approx(0.31)
    assert not from_scores["fallback"]
    assert from_cohort["source"] == "heuristic" and from_cohort["fallback"]
    assert from_cohort["best_hour_utc"] == 17  # the cohort's (same time zone) best hour
    assert datetime.fromisoformat(from_cohort["next_send_at"]) > datetime.now(UTC)
    assert "MLFLOW_TRACKING_URI" in from_cohort["note"]


def test_the_batch_answers_in_order_and_lists_ids_it_does_not_know(
    tenants: Tenants, rows: CellRows
) -> None:
    tenant, other = tenants.org("eu"), tenants.org("eu")
    client = tenants.client(tenant, Role.ANALYST)
    mine = [rows.contact(tenant.org_id, "eu"), rows.contact(tenant.org_id, "na", "America/Chicago")]
    theirs = rows.contact(other.org_id)
    unknown = uuid.uuid4()

    response = client.post(
        "/v1/send-time:batch", json={"contact_ids": [str(c) for c in (*mine, theirs, unknown)]}
    )
    foreign = client.get(f"/v1/send-time/{theirs}")
    too_many = client.post(
        "/v1/send-time:batch", json={"contact_ids": [str(uuid.uuid4()) for _ in range(1001)]}
    )

    assert response.status_code == 200, response.text
    assert [r["contact_id"] for r in response.json()["results"]] == [str(c) for c in mine]
    assert set(response.json()["not_found"]) == {str(theirs), str(unknown)}
    chicago = response.json()["results"][1]
    assert chicago["source"] == "heuristic" and chicago["best_local_hour"] == 10
    assert (foreign.status_code, foreign.json()["code"]) == (404, "contact_not_found")
    assert too_many.status_code == 422


def test_personalize_without_a_model_is_uniform_and_says_so(
    tenants: Tenants, rows: CellRows
) -> None:
    tenant, other = tenants.org("eu"), tenants.org("eu")
    client = tenants.client(tenant, Role.ANALYST)
    contact = rows.contact(tenant.org_id)

    chosen = client.post(
        "/v1/personalize", json={"contact_id": str(contact), "variants": ["A", "B", "C", "D"]}
    )
    foreign = client.post(
        "/v1/personalize",
        json={"contact_id": str(rows.contact(other.org_id)), "variants": ["A", "B"]},
    )
    twice = client.post(
        "/v1/personalize", json={"contact_id": str(contact), "variants": ["A", "A"]}
    )

    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert body["variant"] in "ABCD" and body["probability"] == 0.25
    assert (body["source"], body["model_version"]) == ("uniform", None)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "contact_not_found")
    assert twice.status_code == 422


def test_anomalies_are_the_organization_s_own_scores_and_pauses(
    tenants: Tenants, rows: CellRows, serving_cells: Cells
) -> None:
    tenant, other = tenants.org("eu"), tenants.org("eu")
    client = tenants.client(tenant, Role.ANALYST)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for org_id, domain in ((tenant.org_id, "news.acme.example"), (other.org_id, "x.other.example")):
        rows.orgs.add(("na", org_id))
        with serving_cells.connection("na") as conn:
            for hours, score in ((1, 0.97), (200, 0.5)):
                conn.execute(
                    "INSERT INTO anomaly_scores (org_id, sending_domain, bucket_start, "
                    "anomaly_score, is_alert, threshold, model_name, model_version) "
                    "VALUES (%s, %s, %s, %s, %s, 0.9, 'anomaly_na', '3')",
                    (org_id, domain, now - timedelta(hours=hours), score, score > 0.9),
                )
            conn.execute(
                "INSERT INTO paused_senders (org_id, sending_domain, reason, source) "
                "VALUES (%s, %s, 'bounce spike', 'anomaly_sensor')",
                (org_id, domain),
            )

    body = client.get("/v1/anomalies", params={"hours": 24}).json()
    bad = client.get("/v1/anomalies", params={"hours": 0})

    assert [(s["sending_domain"], s["region"], s["is_alert"]) for s in body["scores"]] == [
        ("news.acme.example", "na", True)
    ]
    assert [p["sending_domain"] for p in body["active_pauses"]] == ["news.acme.example"]
    assert body["unavailable_regions"] == []
    assert bad.status_code == 422


def test_with_mlflow_unreachable_the_heuristic_answers_and_says_so(
    api_settings: Settings, tenants: Tenants, rows: CellRows, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    dead = f"http://127.0.0.1:{free_port()}"
    settings = api_settings.model_copy(
        update={"mlflow_tracking_uri": dead, "model_load_wait_seconds": 10.0}
    )
    tenant = tenants.org("eu")
    contact = rows.contact(tenant.org_id)
    with serve(create_app(settings)) as url:
        key = tenants.client(tenant, Role.ANALYST)
        client = PostwiseClient(url, key.api_key, key._private_key)  # noqa: SLF001
        answer = client.get(f"/v1/send-time/{contact}").json()
        choice = client.post(
            "/v1/personalize", json={"contact_id": str(contact), "variants": ["A", "B"]}
        ).json()
        client.close()
    assert (answer["source"], answer["degraded"]) == ("heuristic", True)
    assert "model registry cannot answer" in answer["note"]
    assert (choice["source"], choice["degraded"], choice["probability"]) == ("uniform", True, 0.5)


class FixedHour(PythonModel):
    """A send-time champion that always picks 06:00 UTC with probability 0.42."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        n = len(model_input)
        return pd.DataFrame(
            {
                "contact_id": model_input["contact_id"].astype(str),
                "best_hour_utc": [pd.Timestamp("2026-11-28T06:00:00Z")] * n,
                "best_local_hour": [7] * n,
                "open_probability_24h": [0.42] * n,
                "fallback": [True] * n,
                "model_version": [None] * n,
            }
        )


class LastVariant(PythonModel):
    """A personalization champion that picks the last variant offered, p = 0.8, logged
    with a signature and an input example as trained champions are (counts as doubles)."""

    EXAMPLE = pd.DataFrame(
        {
            "contact_id": ["c"],
            "delivered_90d": [3.0],
            "open_rate_90d": [0.5],
            "opens_in_histogram": [2.0],
            "variants": ["A,B"],
        }
    )

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        variants = model_input["variants"].str.split(",")
        return pd.DataFrame(
            {
                "contact_id": model_input["contact_id"],
                "variant": [v[-1] for v in variants],
                "probability": [0.8] * len(model_input),
            }
        )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """An MLflow store of its own with champions send_time_eu and personalization_eu."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    mlflow.set_tracking_uri(uri)
    last = LastVariant()
    example = LastVariant.EXAMPLE
    signed = infer_signature(example, last.predict(None, example))
    for name, model, signature, input_example in (
        ("send_time_eu", FixedHour(), None, None),
        ("personalization_eu", last, signed, example),
    ):
        experiment = client.create_experiment(name, (tmp_path / name).as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=model, registered_model_name=name,
                signature=signature, input_example=input_example,
            )  # fmt: skip
        client.set_registered_model_alias(name, "champion", str(info.registered_model_version))
    yield uri


def test_a_champion_from_mlflow_scores_unscored_contacts_and_chooses_variants(
    api_settings: Settings, tenants: Tenants, rows: CellRows, registry: str
) -> None:
    settings = api_settings.model_copy(
        update={"mlflow_tracking_uri": registry, "model_load_wait_seconds": 60.0}
    )
    tenant = tenants.org("eu")
    contact = rows.contact(tenant.org_id)
    with serve(create_app(settings)) as url:
        key = tenants.client(tenant, Role.ANALYST)
        client = PostwiseClient(url, key.api_key, key._private_key)  # noqa: SLF001
        answer = client.get(f"/v1/send-time/{contact}").json()
        choice = client.post(
            "/v1/personalize", json={"contact_id": str(contact), "variants": ["A", "B", "C"]}
        ).json()
        metrics = client.get("/metrics").text
        client.close()
    assert (answer["source"], answer["model_version"], answer["best_hour_utc"]) == ("model", "1", 6)
    assert answer["open_probability"] == pytest.approx(0.42) and not answer["degraded"]
    assert (choice["source"], choice["variant"], choice["probability"]) == ("model", "C", 0.8)
    assert 'postwise_api_model_answers_total{endpoint="send_time",source="model"} 1.0' in metrics


def test_a_campaign_send_lets_the_region_s_champion_choose_each_variant(
    tenants: Tenants, serving_cells: Cells, registry: str
) -> None:
    tenant = tenants.org("eu")
    contacts = {add_contact(serving_cells, tenant.org_id, "eu") for _ in range(3)}
    breakers = Breakers()
    champions = ChampionCache(mlflow_loader(registry), breakers, wait_seconds=60.0)
    chooser = ModelServing(serving_cells, champions, breakers, ApiMetrics(breakers))
    now = datetime.now(UTC)
    campaign = Campaign(
        uuid.uuid4(), tenant.org_id, "Autumn", "marketing", None, 1, None, [], "now", 0.0,
        "sending", None, "news.acme.example", {}, now, now, None,
    )  # fmt: skip

    modelled = send_campaign(serving_cells, campaign, Content(1, ("A", "B", "C"), chooser), now)
    campaign = replace(campaign, campaign_id=uuid.uuid4())
    uniform = send_campaign(serving_cells, campaign, Content(1, ("A", "B")), now)

    assert modelled.as_dict()["variants_chosen"] == {"model": 3}
    assert uniform.as_dict()["variants_chosen"] == {"uniform": 3}
    with serving_cells.connection("eu") as conn:
        rows = conn.execute(
            "SELECT contact_id, campaign_id, variant, variant_probability FROM messages "
            "WHERE org_id = %s",
            (tenant.org_id,),
        ).fetchall()
    chosen = {(c, v, p) for c, k, v, p in rows if k != campaign.campaign_id}
    assert chosen == {(c, "C", 0.8) for c in contacts}  # the champion picks the last offered
    halves = [(v, p) for _, k, v, p in rows if k == campaign.campaign_id]
    assert {v for v, _ in halves} == {"A", "B"} and {p for _, p in halves} == {0.5}
