"""Resources: the only way assets reach external systems (warehouse cells, dbt, MLflow)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import psycopg
from pydantic import PrivateAttr

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

from postwise.dbt_env import dbt_environment
from postwise.settings import get_settings
from warehouse.db import Cells


class WarehouseResource(dg.ConfigurableResource):
    """The control database and region cells on the server ``database_url`` names.

    Cell names and per-cell URLs follow Postwise's settings; only the server comes from
    this resource's configuration (``DATABASE_URL``).
    """

    database_url: str
    _cells: Cells | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._cells = Cells.from_settings(get_settings(), self.database_url)
        # dbt's profile reads PW_DBT_<REGION>_*; export them for dbt runs in this process.
        os.environ.update(dbt_environment(get_settings(), self.database_url))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._cells is not None:
            self._cells.close()

    @property
    def cells(self) -> Cells:
        if self._cells is None:
            self._cells = Cells.from_settings(get_settings(), self.database_url)
        return self._cells

    @contextmanager
    def connection(self, cell: str) -> Iterator[psycopg.Connection]:
        """A connection to ``cell`` (a region or "control"); commits on success."""
        with self.cells.connection(cell) as conn:
            yield conn


class MlflowResource(dg.ConfigurableResource):
    """Where MLflow runs and registered models live (``MLFLOW_TRACKING_URI``)."""

    tracking_uri: str

    def artifact_path(self) -> Path | None:
        """Where new experiments keep artifacts when the store is a database (a tracking
        server manages its own)."""
        if self.tracking_uri.startswith(("http://", "https://")):
            return None
        return get_settings().home / "mlartifacts"

    def client(self) -> "MlflowClient":
        """An MLflow tracking client bound to ``tracking_uri``."""
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)
