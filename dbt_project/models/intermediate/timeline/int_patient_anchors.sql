-- One row per placed patient: the dates every other date is measured from.
-- Day 0 is the first infusion; a record without enrollment or infusion was quarantined before staging.
with enrollment as (
    select *,
        row_number() over (
            partition by record_id order by (event_name = 'baseline_arm_1') desc, source_row
        ) as preference
    from {{ ref('stg_redcap__enrollment') }}
),

infusions as (
    select record_id, min(infusion_date) as day0_date, count(infusion_date) as n_infusions
    from {{ ref('stg_redcap__infusion') }}
    where infusion_date is not null
    group by record_id
),

vital_status as (
    -- one form per patient is expected; if there are more, the latest contact wins
    select record_id,
        arg_max(last_contact_date, coalesce(last_contact_date, date '1900-01-01')) as last_contact_date,
        arg_max(vital_status_code, coalesce(last_contact_date, date '1900-01-01')) as vital_status_code,
        min(death_date) as death_date,
        arg_max(death_cause_code, death_date) as death_cause_code,
        bool_or(death_treatment_related) as death_treatment_related
    from {{ ref('stg_redcap__vital_status') }}
    group by record_id
),

export as (
    select cast(export_datetime as date) as export_date from {{ source('redcap', 'current_drop') }}
)

select
    enrollment.record_id,
    enrollment.source_row as enrollment_source_row,
    enrollment.enrollment_date,
    infusions.day0_date,
    infusions.n_infusions,
    vital_status.death_date,
    vital_status.death_cause_code,
    vital_status.death_treatment_related,
    vital_status.vital_status_code,
    vital_status.last_contact_date,
    export.export_date
from enrollment
inner join infusions on infusions.record_id = enrollment.record_id
left join vital_status on vital_status.record_id = enrollment.record_id
cross join export
where enrollment.preference = 1
