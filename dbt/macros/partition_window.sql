{#- Which day partitions an incremental mart rebuilds.

    Returns none (build everything) or [first_day, end_day] as ISO dates, end_day exclusive
    and none for "open-ended":
    - var `day` set: exactly [day, day + 1), Dagster's daily partitions and backfills;
    - an incremental run without `day`: from the newest day already loaded minus
      `lookback_days`, because opens, clicks and asynchronous bounces arrive for days;
    - otherwise (first build, --full-refresh): none.

    `incremental` and `day` are the model's own is_incremental() and var('day'), passed in so
    unit tests can override them (dbt applies overrides only to direct references).
    Bounds are rendered as literals, so PostgreSQL prunes email_events partitions at plan time. -#}
{% macro partition_window(date_column, incremental, day) %}
    {%- if day is not none and (day | string | trim) != '' -%}
        {%- set day = day | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', day) -%}
            {{ exceptions.raise_compiler_error("var 'day' must be YYYY-MM-DD, got '" ~ day ~ "'") }}
        {%- endif -%}
        {%- set first = modules.datetime.date.fromisoformat(day) -%}
        {{ return([first.isoformat(), (first + modules.datetime.timedelta(days=1)).isoformat()]) }}
    {%- elif incremental and execute -%}
        {%- set newest = run_query('select max(' ~ date_column ~ ') from ' ~ this).columns[0].values()[0] -%}
        {%- if newest is none -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set first = newest - modules.datetime.timedelta(days=var('lookback_days') | int) -%}
        {{ return([first.isoformat(), none]) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{#- A predicate keeping `column` (timestamptz) inside `window`, optionally widened by whole
    days before and after; `true` when window is none. Widening happens here, in Jinja, so the
    bounds stay constants that partition pruning can use. -#}
{% macro time_filter(column, window, days_before=0, days_after=0) -%}
    {%- if window is none -%}
        true
    {%- else -%}
        {%- set first = modules.datetime.date.fromisoformat(window[0]) - modules.datetime.timedelta(days=days_before) -%}
        {{ column }} >= timestamptz '{{ first.isoformat() }} 00:00:00+00'
        {%- if window[1] is not none -%}
            {%- set end = modules.datetime.date.fromisoformat(window[1]) + modules.datetime.timedelta(days=days_after) %}
        and {{ column }} < timestamptz '{{ end.isoformat() }} 00:00:00+00'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- The UTC calendar day of a timestamptz: the partition key of every incremental mart. -#}
{% macro utc_date(column) -%}
    cast(timezone('UTC', {{ column }}) as date)
{%- endmacro %}


{#- The instant features are computed as of: the model's var('as_of') (passed in, so unit
    tests can override it) or now(). -#}
{% macro as_of_timestamp(value) -%}
    {%- if value is not none and (value | string | trim) != '' -%}
        cast('{{ value }}' as timestamptz)
    {%- else -%}
        now()
    {%- endif -%}
{%- endmacro %}


{#- A predicate keeping a date `column` inside `window`, optionally widened by whole days before
    its start and after its end; `true` when window is none. -#}
{% macro date_filter(column, window, days_after=0, days_before=0) -%}
    {%- if window is none -%}
        true
    {%- else -%}
        {%- set first = modules.datetime.date.fromisoformat(window[0]) - modules.datetime.timedelta(days=days_before) -%}
        {{ column }} >= date '{{ first.isoformat() }}'
        {%- if window[1] is not none -%}
            {%- set end = modules.datetime.date.fromisoformat(window[1]) + modules.datetime.timedelta(days=days_after) %} and {{ column }} < date '{{ end.isoformat() }}'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- incremental_predicates of a delete+insert mart keyed by the date `column`: with var `day`,
    the delete is bounded to that day by literals, so it walks the column's index instead of
    scanning the whole mart (the new rows' keys come from an unanalyzed temporary table).
    The model only produces rows of that day, so the bound deletes nothing more or less. -#}
{% macro partition_predicates(column) -%}
    {%- set window = partition_window(column, false, var('day', none)) -%}
    {%- if window is none -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return([date_filter('DBT_INTERNAL_DEST.' ~ column, window) | trim]) }}
{%- endmacro %}
