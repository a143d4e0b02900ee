{#- Rows whose ``column_name`` exceeds c360__identity_resolution[limit_var] (e.g. max_profile_size). -#}
{% test at_most_var(model, column_name, limit_var) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} > {{ var('c360__identity_resolution')[limit_var] }}
{% endtest %}
