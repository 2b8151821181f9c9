{#- md5 of the key columns, the primary key of marts whose grain spans several columns
    (dbt_utils is not available offline). Nulls get a marker so (a, null) and (a, '') differ. -#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|'
    {%- for column in columns -%}
        , coalesce(cast({{ column }} as text), '<null>')
    {%- endfor -%}
    ))
{%- endmacro %}
