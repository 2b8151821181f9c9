"""Model serving: champions loaded from MLflow once and kept (:mod:`.champions`), and the
answers of the send-time, personalization and anomaly endpoints with their fallbacks
(:mod:`.send_time`, :mod:`.personalize`, :mod:`.anomalies`)."""

from .champions import Champion, ChampionCache, Lookup, mlflow_loader

__all__ = ["Champion", "ChampionCache", "Lookup", "mlflow_loader"]
