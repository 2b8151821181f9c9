"""Read-only queries of the dashboards, one module per page plus :mod:`.catalog` (what the
filters offer). Each function takes :class:`~dashboards.sources.Sources` first and a
:class:`~dashboards.scope.Scope`, reads the contracted marts (schema ``marts``) or the
product's tables, and returns plain values or DataFrames; none imports Streamlit, so tests
compare them with SQL of their own."""
