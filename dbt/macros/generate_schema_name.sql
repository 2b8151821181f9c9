{#- Custom schemas are used as-is (`staging`, `intermediate`, `marts`) instead of dbt's default
    `<target schema>_<custom>`: each region cell is its own database, so there is nothing to
    keep apart by prefix, and dashboards and serving read stable names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
