-- Operator overrides (seed identity_overrides) naming no source record of this build: a typo,
-- an engagement contact point (never named: it follows the record holding its address), or a
-- record not yet ingested by the interval's end or erased. They apply to nothing: a warning,
-- as replaying an earlier interval must still build.
{{ config(severity='warn') }}

with

source_records as (

    select record_key from {{ ref('int_identity_records_normalised') }}
    where not is_contact_point

),

named as (

    select record_key_a as record_key from {{ ref('identity_overrides') }}
    union
    select record_key_b as record_key from {{ ref('identity_overrides') }}

)

select named.record_key
from named
where named.record_key not in (select source_records.record_key from source_records)
