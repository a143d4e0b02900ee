{#- The body of a per-type event view (the AWS engagement-database sample's views): classified events of one channel and outcome. -#}
{% macro event_type_view(channels, outcomes) -%}
select *
from {{ ref('engagement_event_outcomes') }}
where
    channel in ({% for c in channels %}'{{ c }}'{{ ', ' if not loop.last }}{% endfor %})
    and outcome in ({% for o in outcomes %}'{{ o }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
