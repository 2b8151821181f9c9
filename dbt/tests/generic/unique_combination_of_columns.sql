{#- Fails with the duplicated key combinations: composite primary keys (dbt_utils' test of
    the same name is not available offline). Nulls compare equal, as in a primary key. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
