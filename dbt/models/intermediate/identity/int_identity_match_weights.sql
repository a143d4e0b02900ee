-- The Fellegi-Sunter weights int_record_pairs_scored uses (var c360__identity_model_version):
-- `calibrated` takes the newest calibration that is not degenerate, and the shipped `default`
-- of the seed identity_match_weights until there is one; `calibration-<id>` pins that
-- calibration (a rollback); any other value pins that version of the seed.
{%- set version = var('c360__identity_model_version') %}
{%- if version == 'calibrated' %}
    {%- set chosen -%}
        (select max(good.calibration_id) from {{ ref('identity_model_calibrations') }} as good where not good.is_degenerate)
    {%- endset %}
{%- elif version.startswith('calibration-') %}
    {%- set chosen = version[12:] | int %}
{%- else %}
    {%- set chosen = 'null' %}
{%- endif %}

with

calibrated as (

    select
        'calibration-' || cast(calibration_id as varchar) as model_version,
        comparison,
        gamma,
        log2_bayes_factor
    from {{ ref('identity_model_calibrations') }}
    where calibration_id = {{ chosen }}

),

shipped as (

    select
        model_version,
        comparison,
        gamma,
        log2_bayes_factor
    from {{ ref('identity_match_weights') }}
    where
        model_version = '{{ "default" if version == "calibrated" else version }}'
        and not exists (select 1 from calibrated)

)

select * from calibrated
union all
select * from shipped
