{{ config(**history_incremental_config(['old_profile_id', 'new_profile_id', 'recorded_for'])) }}

-- Append-only history of profile ids that changed: records that moved from one profile
-- to another. 'merge' when the old profile no longer exists (its records joined
-- new_profile_id), 'split' when it still does and some of its records left it.
with

moves as (

    select
        previous_profile_id as old_profile_id,
        profile_id as new_profile_id,
        count(*) as moved_records
    from {{ ref('int_profile_ids_assigned') }}
    where previous_profile_id is not null and previous_profile_id != profile_id
    group by previous_profile_id, profile_id

),

current_ids as (

    select distinct profile_id from {{ ref('int_profile_ids_assigned') }}

)

select
    moves.old_profile_id,
    moves.new_profile_id,
    case when current_ids.profile_id is null then 'merge' else 'split' end as change_kind,
    moves.moved_records,
    {{ identity_as_of() }} as recorded_for
from moves
left join current_ids on moves.old_profile_id = current_ids.profile_id
