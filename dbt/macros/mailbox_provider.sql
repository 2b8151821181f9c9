{#- The mailbox provider behind a recipient's email domain, for consumer domains whose owner is
    public knowledge. Corporate domains hosted at Microsoft 365 or Google Workspace would need
    an MX look-up, which dbt cannot do: they are 'other'. -#}
{% macro mailbox_provider(domain) -%}
    case
        when {{ domain }} in ('gmail.com', 'googlemail.com') then 'gmail'
        when {{ domain }} ~ '^(hotmail|outlook|live|msn|passport)\.' then 'outlook'
        when {{ domain }} ~ '^(yahoo|ymail|rocketmail)\.' or {{ domain }} in ('aol.com', 'aim.com')
            then 'yahoo'
        when {{ domain }} in ('icloud.com', 'me.com', 'mac.com') then 'icloud'
        when {{ domain }} ~ '^gmx\.' or {{ domain }} = 'web.de' then 'gmx'
        when {{ domain }} in ('orange.fr', 'wanadoo.fr') then 'orange'
        when {{ domain }} = 't-online.de' then 't-online'
        when {{ domain }} in ('comcast.net', 'xfinity.com') then 'comcast'
        when {{ domain }} in ('att.net', 'sbcglobal.net', 'bellsouth.net') then 'att'
        else 'other'
    end
{%- endmacro %}
