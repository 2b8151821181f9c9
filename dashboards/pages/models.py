"""Models: which version of each model serves in each region, the challengers trained
beside it, how validation scores moved from version to version, and links into the MLflow
UI for the details."""

import pandas as pd
import streamlit as st

from dashboards import charts
from dashboards.cache import current_sources, load
from dashboards.filters import current_scope
from dashboards.queries import models

LINKS = {
    "version_url": st.column_config.LinkColumn("Version page", display_text="registry"),
    "run_url": st.column_config.LinkColumn("Run page", display_text="run"),
}

scope = current_scope("Models", reads_marts=False)
sources = current_sources()
ui = sources.mlflow_ui_url
st.caption(
    "Each region trains its own models from the mail of every organization in its cell: "
    "aggregates that hold no organization's personal data, so the organization and campaign "
    "filters do not apply here. The champion is the version serving now, whatever its age; "
    f"challengers, scores and runs are those created {scope.start:%d %b %Y} – "
    f"{scope.end:%d %b %Y} (UTC) in the chosen regions."
)
if sources.mlflow_tracking_uri is None:
    st.info(
        "MLflow is not configured: set MLFLOW_TRACKING_URI (`postwise up` sets it) to see "
        "the model registry."
    )
    st.stop()
try:
    registry = load(models.registry, scope.regions)
except models.RegistryError as exc:
    st.warning(str(exc))
    st.stop()
if registry.versions.empty:
    st.info(f"No registered models in {', '.join(scope.regions)} yet.")
    st.stop()
st.markdown(f"[MLflow UI]({ui}) · [Model registry]({ui}/#/models)")


def champion_card(versions: pd.DataFrame, model: str, region: str) -> None:
    """The champion of ``model`` in ``region``: version, score, age and links."""
    name = f"{model}_{region}"
    champion = versions[(versions["region"] == region) & versions["champion"]]
    if champion.empty:
        st.metric(f"{name} champion", "–")
        registered = (versions["region"] == region).any()
        st.caption("No version holds the champion alias." if registered else "Not registered.")
        return
    row = champion.iloc[0]
    st.metric(f"{name} champion", f"v{row.version}", help="the version with @champion")
    st.metric(f"{name} {row.validation_metric}", models.score_text(row.validation_score))
    links = [f"[model]({row.model_url})", f"[version]({row.version_url})"]
    if isinstance(row.run_url, str):
        links += [f"[run]({row.run_url})", f"[experiment]({row.experiment_url})"]
    st.caption(f"Trained {row.created_at:%d %b %Y %H:%M} UTC")
    st.markdown(" · ".join(links))


def model_panel(model: str) -> None:
    """Champions per region, then the chosen days' versions and runs of ``model``."""
    versions = registry.versions[registry.versions["model"] == model]
    for column, region in zip(st.columns(len(scope.regions)), scope.regions, strict=True):
        with column:
            champion_card(versions, model, region)
    recent = models.created_within(versions, "created_at", scope)
    metric = models.usual_metric(versions)
    st.subheader("Validation score by version")
    if recent.empty:
        charts.empty("versions created in these days")
    else:
        chart = charts.line(
            recent, "created_at", "validation_score", color="name", y_format=".4f", title=metric
        )
        charts.show(chart)
    st.subheader("Challengers")
    challengers = recent[~recent["champion"]]
    if challengers.empty:
        charts.empty("challengers")
    else:
        st.dataframe(challengers[models.CHALLENGER_COLUMNS], hide_index=True, column_config=LINKS)
        st.caption("Promoted: whether the version beat the champion of its day when trained.")
    st.subheader("Training runs")
    runs = models.main_metrics(
        models.created_within(registry.runs, "started_at", scope), model, metric
    )
    if runs.empty:
        charts.empty("training runs")
    else:
        st.dataframe(runs, hide_index=True, column_config=LINKS)


order = models.ordered_models(registry.versions)
for tab, model in zip(st.tabs(order), order, strict=True):
    with tab:
        model_panel(model)
