{#- The person an identity-bearing source record names — the staging contract that
    int_identity_records_unioned reads. Fields sit at a JSON path of the body (customers:
    the record itself, bookings: the traveller, loyalty: the member, service: the customer);
    the phone as landing normalised it (include/landing/sources.py) is in the row's `normalised`. -#}

{% macro person_columns() -%}
  {{ return(['first_name', 'last_name', 'email', 'phone', 'phone_e164', 'phone_type', 'phone_country',
             'phone_status', 'birth_date', 'address_line1', 'address_line2', 'city', 'postal_code',
             'state', 'country']) }}
{%- endmacro %}

{#- The person columns extracted from raw rows: `path` is the JSON path of the person ('$'
    for the record itself). -#}
{% macro person_fields(path) -%}
  {%- for column in person_columns() -%}
    {%- if column.startswith('phone_') -%}
      {{ json_str('normalised', '$.' ~ column) }} as {{ column }}
    {%- else -%}
      {{ json_str('body', path ~ '.' ~ column) }} as {{ column }}
    {%- endif -%}
    {{- ',\n        ' if not loop.last }}
  {%- endfor -%}
{%- endmacro %}
