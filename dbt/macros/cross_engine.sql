{#-
  The only SQL that differs between DuckDB (local) and Athena/Trino (production).
  Models call these; each has a default (Trino/Athena) and a duckdb__ implementation.
-#}

{# A scalar at a JSONPath of a JSON string, as varchar. #}
{% macro json_str(column, path) -%}
  {{ return(adapter.dispatch('json_str', 'customer360')(column, path)) }}
{%- endmacro %}
{% macro default__json_str(column, path) -%}
  json_extract_scalar({{ column }}, '{{ path }}')
{%- endmacro %}
{% macro duckdb__json_str(column, path) -%}
  json_extract_string({{ column }}, '{{ path }}')
{%- endmacro %}

{# The JSON text of an object or array at a JSONPath (null when absent). #}
{% macro json_text(column, path) -%}
  {{ return(adapter.dispatch('json_text', 'customer360')(column, path)) }}
{%- endmacro %}
{% macro default__json_text(column, path) -%}
  json_format(json_extract({{ column }}, '{{ path }}'))
{%- endmacro %}
{% macro duckdb__json_text(column, path) -%}
  cast(json_extract({{ column }}, '{{ path }}') as varchar)
{%- endmacro %}

{# An array of strings at a JSONPath. #}
{% macro json_str_array(column, path) -%}
  {{ return(adapter.dispatch('json_str_array', 'customer360')(column, path)) }}
{%- endmacro %}
{% macro default__json_str_array(column, path) -%}
  cast(json_extract({{ column }}, '{{ path }}') as array(varchar))
{%- endmacro %}
{% macro duckdb__json_str_array(column, path) -%}
  cast(json_extract({{ column }}, '{{ path }}') as varchar[])
{%- endmacro %}

{# A map of string → first string of a JSON object whose values are arrays (SES mail.tags). #}
{% macro json_first_value_map(column, path) -%}
  {{ return(adapter.dispatch('json_first_value_map', 'customer360')(column, path)) }}
{%- endmacro %}
{% macro default__json_first_value_map(column, path) -%}
  transform_values(
    cast(json_extract({{ column }}, '{{ path }}') as map(varchar, array(varchar))),
    (k, v) -> element_at(v, 1)
  )
{%- endmacro %}
{% macro duckdb__json_first_value_map(column, path) -%}
  map_from_entries(list_transform(
    map_entries(cast(json_extract({{ column }}, '{{ path }}') as map(varchar, varchar[]))),
    e -> {'key': e.key, 'value': e.value[1]}
  ))
{%- endmacro %}

{# ISO-8601 timestamp text → epoch milliseconds (bigint). #}
{% macro iso_to_epoch_ms(expression) -%}
  {{ return(adapter.dispatch('iso_to_epoch_ms', 'customer360')(expression)) }}
{%- endmacro %}
{% macro default__iso_to_epoch_ms(expression) -%}
  cast(to_unixtime(from_iso8601_timestamp({{ expression }})) * 1000 as bigint)
{%- endmacro %}
{% macro duckdb__iso_to_epoch_ms(expression) -%}
  epoch_ms(cast({{ expression }} as timestamptz))
{%- endmacro %}

{# The UTC hour a raw-zone Hive partition (year/month/day/hour) stands for, as a timestamp. #}
{% macro partition_hour(year, month, day, hour) -%}
  {{ return(adapter.dispatch('partition_hour', 'customer360')(year, month, day, hour)) }}
{%- endmacro %}
{% macro default__partition_hour(year, month, day, hour) -%}
  date_add('hour', cast({{ hour }} as integer),
    cast(date_parse(format('%04d-%02d-%02d', cast({{ year }} as integer), cast({{ month }} as integer),
      cast({{ day }} as integer)), '%Y-%m-%d') as timestamp))
{%- endmacro %}
{% macro duckdb__partition_hour(year, month, day, hour) -%}
  make_timestamp(cast({{ year }} as bigint), cast({{ month }} as bigint), cast({{ day }} as bigint),
    cast({{ hour }} as bigint), 0, 0.0)
{%- endmacro %}

{# The elements of a string array joined by a separator. #}
{% macro array_join_str(array, separator) -%}
  {{ return(adapter.dispatch('array_join_str', 'customer360')(array, separator)) }}
{%- endmacro %}
{% macro default__array_join_str(array, separator) -%}
  array_join({{ array }}, '{{ separator }}')
{%- endmacro %}
{% macro duckdb__array_join_str(array, separator) -%}
  array_to_string({{ array }}, '{{ separator }}')
{%- endmacro %}

{# An array of JSON values at a JSONPath, to unnest (WhatsApp changes/messages/statuses). #}
{% macro json_array(column, path) -%}
  {{ return(adapter.dispatch('json_array', 'customer360')(column, path)) }}
{%- endmacro %}
{% macro default__json_array(column, path) -%}
  cast(json_extract({{ column }}, '{{ path }}') as array(json))
{%- endmacro %}
{% macro duckdb__json_array(column, path) -%}
  cast(json_extract({{ column }}, '{{ path }}') as json[])
{%- endmacro %}

{# A map from (key literal, value expression) pairs, leaving out null values. #}
{% macro map_without_nulls(pairs) -%}
  {{ return(adapter.dispatch('map_without_nulls', 'customer360')(pairs)) }}
{%- endmacro %}
{% macro default__map_without_nulls(pairs) -%}
  map_filter(
    map(array[{% for k, v in pairs %}'{{ k }}'{{ ', ' if not loop.last }}{% endfor %}],
        array[{% for k, v in pairs %}cast({{ v }} as varchar){{ ', ' if not loop.last }}{% endfor %}]),
    (k, v) -> v is not null
  )
{%- endmacro %}
{% macro duckdb__map_without_nulls(pairs) -%}
  map_from_entries(list_filter(
    [{% for k, v in pairs %}{'key': '{{ k }}', 'value': cast({{ v }} as varchar)}{{ ', ' if not loop.last }}{% endfor %}],
    e -> e.value is not null
  ))
{%- endmacro %}

{# The value of a map at a key, null when absent. #}
{% macro map_get(map, key) -%}
  {{ return(adapter.dispatch('map_get', 'customer360')(map, key)) }}
{%- endmacro %}
{% macro default__map_get(map, key) -%}
  element_at({{ map }}, {{ key }})
{%- endmacro %}
{% macro duckdb__map_get(map, key) -%}
  {{ map }}[{{ key }}]
{%- endmacro %}

{# Whether a string matches a regular expression anywhere. #}
{% macro regex_matches(expression, pattern) -%}
  {{ return(adapter.dispatch('regex_matches', 'customer360')(expression, pattern)) }}
{%- endmacro %}
{% macro default__regex_matches(expression, pattern) -%}
  regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}
{% macro duckdb__regex_matches(expression, pattern) -%}
  regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{# Epoch milliseconds → timestamp (UTC, no zone). #}
{% macro epoch_ms_to_timestamp(expression) -%}
  {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'customer360')(expression)) }}
{%- endmacro %}
{% macro default__epoch_ms_to_timestamp(expression) -%}
  cast(from_unixtime({{ expression }} / 1000.0) as timestamp)
{%- endmacro %}
{% macro duckdb__epoch_ms_to_timestamp(expression) -%}
  make_timestamp(cast({{ expression }} as bigint) * 1000)
{%- endmacro %}

{# The type of string-to-string maps (tags, context), and a JSON object read as one. #}
{% macro string_map_type() -%}
  map(varchar, varchar)
{%- endmacro %}
{% macro json_str_map(column, path) -%}
  cast(json_extract({{ column }}, '{{ path }}') as {{ string_map_type() }})
{%- endmacro %}

{# Edit distance between two strings. #}
{% macro levenshtein(left, right) -%}
  {{ return(adapter.dispatch('levenshtein', 'customer360')(left, right)) }}
{%- endmacro %}
{% macro default__levenshtein(left, right) -%}
  levenshtein_distance({{ left }}, {{ right }})
{%- endmacro %}
{% macro duckdb__levenshtein(left, right) -%}
  levenshtein({{ left }}, {{ right }})
{%- endmacro %}

{# Replace every match of a regular expression (DuckDB replaces only the first without 'g'). #}
{% macro regex_replace_all(expression, pattern, replacement) -%}
  {{ return(adapter.dispatch('regex_replace_all', 'customer360')(expression, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regex_replace_all(expression, pattern, replacement) -%}
  regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}
{% macro duckdb__regex_replace_all(expression, pattern, replacement) -%}
  regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{# Timestamp → epoch milliseconds (bigint). #}
{% macro timestamp_to_epoch_ms(expression) -%}
  {{ return(adapter.dispatch('timestamp_to_epoch_ms', 'customer360')(expression)) }}
{%- endmacro %}
{% macro default__timestamp_to_epoch_ms(expression) -%}
  cast(to_unixtime({{ expression }}) * 1000 as bigint)
{%- endmacro %}
{% macro duckdb__timestamp_to_epoch_ms(expression) -%}
  epoch_ms({{ expression }})
{%- endmacro %}

{#- ISO-8601 text → timestamp in UTC (no zone): a date, or a date and time (T or space) with
    optional fraction and Z / ±HH:MM offset; no offset means UTC, as landing reads it.
    Null when the text is none of those (landing refuses such source records). -#}
{% macro iso_to_timestamp(expression) -%}
  {{ return(adapter.dispatch('iso_to_timestamp', 'customer360')(expression)) }}
{%- endmacro %}
{% macro default__iso_to_timestamp(expression) -%}
  cast(try(from_iso8601_timestamp(replace({{ expression }}, ' ', 'T'))) at time zone 'UTC' as timestamp)
{%- endmacro %}
{% macro duckdb__iso_to_timestamp(expression) -%}
  case
    when regexp_matches({{ expression }}, '(Z|[+-][0-9]{2}:[0-9]{2})$')
      then timezone('UTC', try_cast({{ expression }} as timestamptz))
    else try_cast({{ expression }} as timestamp)
  end
{%- endmacro %}

{# The first non-null value of a column over a window (survivorship per field). #}
{% macro first_non_null_over(expression, partition_by, order_by) -%}
  {{ return(adapter.dispatch('first_non_null_over', 'customer360')(expression, partition_by, order_by)) }}
{%- endmacro %}
{% macro default__first_non_null_over(expression, partition_by, order_by) -%}
  first_value({{ expression }}) ignore nulls over (
      partition by {{ partition_by }} order by {{ order_by }}
      rows between unbounded preceding and unbounded following
  )
{%- endmacro %}
{% macro duckdb__first_non_null_over(expression, partition_by, order_by) -%}
  first_value({{ expression }} ignore nulls) over (
      partition by {{ partition_by }} order by {{ order_by }}
      rows between unbounded preceding and unbounded following
  )
{%- endmacro %}

{# A date as ISO-8601 text: YYYY-MM-DD. #}
{% macro iso_date_text(expression) -%}
  {{ return(adapter.dispatch('iso_date_text', 'customer360')(expression)) }}
{%- endmacro %}
{% macro default__iso_date_text(expression) -%}
  date_format({{ expression }}, '%Y-%m-%d')
{%- endmacro %}
{% macro duckdb__iso_date_text(expression) -%}
  strftime({{ expression }}, '%Y-%m-%d')
{%- endmacro %}

{#- A timestamp (UTC, no zone) as ISO-8601 text with milliseconds and Z: YYYY-MM-DDTHH:MM:SS.mmmZ,
    sub-millisecond digits cut off on both engines (Trino's %f prints microseconds). -#}
{% macro iso_timestamp_text(expression) -%}
  {{ return(adapter.dispatch('iso_timestamp_text', 'customer360')(expression)) }}
{%- endmacro %}
{% macro default__iso_timestamp_text(expression) -%}
  substr(date_format({{ expression }}, '%Y-%m-%dT%H:%i:%s.%f'), 1, 23) || 'Z'
{%- endmacro %}
{% macro duckdb__iso_timestamp_text(expression) -%}
  strftime({{ expression }}, '%Y-%m-%dT%H:%M:%S.%gZ')
{%- endmacro %}

{#
  Upkeep of an Iceberg table written between builds (the sync's tables): compact the small files
  each checkpoint adds, then expire old snapshots. Post-hooks of those models; dbt-athena runs
  each until done (render_pure: Athena's OPTIMIZE and VACUUM take no catalog). DuckDB has nothing
  to do, and dbt skips a hook that renders empty.
#}
{% macro iceberg_optimize(relation) -%}
  {{ return(adapter.dispatch('iceberg_optimize', 'customer360')(relation)) }}
{%- endmacro %}
{% macro default__iceberg_optimize(relation) -%}
  optimize {{ relation.render_pure() }} rewrite data using bin_pack
{%- endmacro %}
{% macro duckdb__iceberg_optimize(relation) -%}{%- endmacro %}

{% macro iceberg_vacuum(relation) -%}
  {{ return(adapter.dispatch('iceberg_vacuum', 'customer360')(relation)) }}
{%- endmacro %}
{% macro default__iceberg_vacuum(relation) -%}
  vacuum {{ relation.render_pure() }}
{%- endmacro %}
{% macro duckdb__iceberg_vacuum(relation) -%}{%- endmacro %}

{#- Words (split on single spaces) two strings have in common, and the words either has:
    distinct words, so their ratio is the Jaccard share of the two word sets. -#}
{% macro shared_words(left, right) -%}
  {{ return(adapter.dispatch('shared_words', 'customer360')(left, right)) }}
{%- endmacro %}
{% macro default__shared_words(left, right) -%}
  cardinality(array_intersect(split({{ left }}, ' '), split({{ right }}, ' ')))
{%- endmacro %}
{% macro duckdb__shared_words(left, right) -%}
  len(list_intersect(string_split({{ left }}, ' '), string_split({{ right }}, ' ')))
{%- endmacro %}

{% macro distinct_words(left, right) -%}
  {{ return(adapter.dispatch('distinct_words', 'customer360')(left, right)) }}
{%- endmacro %}
{% macro default__distinct_words(left, right) -%}
  cardinality(array_union(split({{ left }}, ' '), split({{ right }}, ' ')))
{%- endmacro %}
{% macro duckdb__distinct_words(left, right) -%}
  len(list_distinct(list_concat(string_split({{ left }}, ' '), string_split({{ right }}, ' '))))
{%- endmacro %}
