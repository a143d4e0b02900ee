-- One row: the identity records, how many of them are linked, and links to no profile (the
-- quality gate's profiles checkpoint expects the first two equal and the last 0).
select
    (select count(*) from {{ ref('int_identity_records_normalised') }}) as source_records,
    (select count(distinct record_key) from {{ ref('profile_links') }}) as linked_records,
    (
        select count(*)
        from {{ ref('profile_links') }} as links
        where not exists (
            select 1 from {{ ref('unified_profiles') }} as profiles
            where profiles.profile_id = links.profile_id
        )
    ) as links_to_missing_profiles
