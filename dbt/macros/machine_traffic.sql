{#- Observable signals that tell machine opens and clicks from people's. The rules, in order,
    are documented in models/intermediate/_intermediate.yml (int_event_classification). -#}

{#- An IPv4 text as inet, or null: a malformed address in a tracking hit must not fail a build.
    IPv6 addresses are left null (no IPv6 ranges are known to the rules yet). -#}
{% macro safe_inet(column) -%}
    case
        when {{ column }} ~ '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'
            then cast({{ column }} as inet)
    end
{%- endmacro %}


{#- `address` inside any of `cidrs` (a list of CIDR strings). -#}
{% macro inet_in(address, cidrs) -%}
    coalesce({{ address }} <<= any(array[{% for cidr in cidrs %}'{{ cidr }}'{{ ", " if not loop.last }}{% endfor %}]::inet[]), false)
{%- endmacro %}


{#- Mobile or desktop, from the tracker's device field or else the user agent; 'unknown' behind
    Gmail's image proxy, which hides the client. -#}
{% macro engagement_device(user_agent, device) -%}
    case
        when {{ user_agent }} ilike '%GoogleImageProxy%' then 'unknown'
        when {{ device }} in ('mobile', 'desktop') then {{ device }}
        when {{ device }} = 'tablet' then 'mobile'
        when {{ user_agent }} ~* '(iphone|ipad|android|mobile)' then 'mobile'
        when {{ user_agent }} ~* '(windows|macintosh|mac os x|x11|linux|outlook|thunderbird)' then 'desktop'
        else 'unknown'
    end
{%- endmacro %}


{#- Why an open or click is machine traffic, or null for a person. First matching rule wins.
    Arguments are column expressions of the event. -#}
{% macro machine_reason(event_type, flagged_at_ingest, user_agent, ip, http_method, seconds_since_delivery, burst_clicks) -%}
    {%- set rules = var('machine_traffic') -%}
    case
        when {{ flagged_at_ingest }} then 'ingest_flag'
        -- Gmail's image proxy fetches when the person opens the message: a human open.
        when {{ user_agent }} ilike '%GoogleImageProxy%' then null
        when btrim({{ user_agent }}) = 'Mozilla/5.0' then 'apple_mpp_user_agent'
        when {{ inet_in(ip, rules['apple_proxy_cidrs']) }} then 'apple_proxy_ip'
        when upper({{ http_method }}) = 'HEAD' then 'head_request'
        when {{ inet_in(ip, rules['datacenter_cidrs']) }} then 'datacenter_ip'
        when {{ seconds_since_delivery }} < {{ rules['scanner_window_seconds'] }} then 'seconds_after_delivery'
        when {{ event_type }} = 'clicked' and {{ burst_clicks }} >= {{ rules['burst_min_clicks'] }} then 'click_burst'
    end
{%- endmacro %}
