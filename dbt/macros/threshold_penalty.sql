{#- A rate's penalty in [0, 1]: 0.5 * rate / warn up to the warning level, then linear from 0.5
    to 1 at the limit, capped at 1. A null rate (no mail) is no evidence: penalty 0. -#}
{% macro threshold_penalty(rate, warn, limit) -%}
    case
        when {{ rate }} is null then 0.0
        when {{ rate }} <= {{ warn }} then 0.5 * {{ rate }} / {{ warn }}
        else least(1.0, 0.5 + 0.5 * ({{ rate }} - {{ warn }}) / ({{ limit }} - {{ warn }}))
    end
{%- endmacro %}
