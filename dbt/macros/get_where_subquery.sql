{#- The relation a generic data test reads (overrides dbt's get_where_subquery, which only
    applies the test's `where` config).

    When var `day` is set, a test on an incremental mart checks only that day's partition:
    a one-day run rewrote exactly those rows (delete+insert on the model's unique_key, its
    UTC day column), and the other days were tested when they were built. Without `day`
    (full builds, lookback runs) tests read the whole relation, as before. Tests on sources,
    views and tables, and relations other than the test's own model, are never narrowed. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set partition = test_partition_filter(relation) -%}
    {%- if partition -%}
        {%- do conditions.append(partition) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- The predicate keeping the day partition of var `day` of the incremental model a test is
    attached to, or none. -#}
{% macro test_partition_filter(relation) -%}
    {%- set day = var('day', none) -%}
    {%- if not execute or day is none or (day | string | trim) == '' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set attached = model.get('attached_node') -%}
    {%- set tested = graph.nodes.get(attached) if attached else none -%}
    {%- if tested is none or tested.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set tested_config = tested.config -%}
    {%- set key = tested_config.get('unique_key') -%}
    {%- if tested_config.get('materialized') != 'incremental'
            or tested_config.get('incremental_strategy') != 'delete+insert'
            or key is not string
            or relation.identifier != tested.alias -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set window = partition_window(key, false, day) -%}
    {%- do return(date_filter(adapter.quote(key), window)) -%}
{%- endmacro %}
