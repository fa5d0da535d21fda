-- One row per placed patient: the dates every other date is measured from.
-- Day 0 is the first infusion; a record without enrollment or infusion was quarantined before staging.
--
-- The anchors are checked against each other here, so that no later model measures time from a date that
-- cannot be placed (the plausibility suite reports the same conflicts to the steward, rule by rule):
-- * a death that cannot be placed (recorded as dead with no usable date, two different death dates, a death
--   date while the vital status is not Dead, or dated before day 0, before enrollment or after the export date):
--   death_date is NULL, death_date_recorded keeps the staged value;
-- * a last contact before day 0 or after the export date: last_contact_date is NULL (censoring falls back to
--   the latest assessment);
-- * death_conflict says why a recorded death cannot be placed (NULL when it can, or there is none);
-- * day0_conflict says why day 0 itself is in doubt: an earlier infusion without a usable date (blank, or after
--   the export date), a first infusion after the export date, or more than `enrollment_lookback_days` before
--   enrollment. Such a patient's assessments are placed in no analysis window.
-- A date after the export date cannot have happened yet: a typo (often in the year), never used as a date.
-- A patient with either conflict is left out of the survival analysis (adtte.exclusion_reason).
{%- set lookback_days = var('enrollment_lookback_days', 90) %}
with enrollment as (
    select *,
        row_number() over (
            partition by record_id order by (event_name = 'baseline_arm_1') desc, source_row
        ) as preference
    from {{ ref('stg_redcap__enrollment') }}
),

export as (
    select cast(export_datetime as date) as export_date from {{ source('redcap', 'current_drop') }}
),

infusions as (
    select record_id, min(infusion_date) as day0_date, count(infusion_date) as n_infusions,
        arg_min(source_row, infusion_date) as day0_source_row,
        arg_min(event_name, infusion_date) as day0_event_name,
        arg_min(repeat_instance, infusion_date) as day0_instance
    from {{ ref('stg_redcap__infusion') }}
    where infusion_date is not null
    group by record_id
),

-- an infusion recorded before the first dated one (a lower instance) whose date is missing, unusable or after the
-- export date: the first infusion, so day 0, may be that one
undated_infusions as (
    select undated.record_id, min(undated.repeat_instance) as instance
    from {{ ref('stg_redcap__infusion') }} as undated
    inner join infusions on infusions.record_id = undated.record_id
    cross join export
    where (undated.infusion_date is null or undated.infusion_date > export.export_date)
      and (undated.repeat_instance is null or undated.repeat_instance < infusions.day0_instance)
    group by undated.record_id
),

vital_status as (
    -- one form per patient is expected; if there are more, the latest contact wins
    select record_id,
        arg_max(source_row, coalesce(last_contact_date, date '1900-01-01')) as vital_status_source_row,
        arg_max(event_name, coalesce(last_contact_date, date '1900-01-01')) as vital_status_event_name,
        arg_max(last_contact_date, coalesce(last_contact_date, date '1900-01-01')) as last_contact_date,
        arg_max(vital_status_code, coalesce(last_contact_date, date '1900-01-01')) as vital_status_code,
        min(death_date) as death_date,
        count(distinct death_date) as n_death_dates,
        -- the form the death date comes from (else the latest form)
        coalesce(arg_min(source_row, death_date),
                 arg_max(source_row, coalesce(last_contact_date, date '1900-01-01'))) as death_source_row,
        coalesce(arg_min(event_name, death_date),
                 arg_max(event_name, coalesce(last_contact_date, date '1900-01-01'))) as death_event_name,
        arg_max(death_cause_code, death_date) as death_cause_code,
        bool_or(death_treatment_related) as death_treatment_related
    from {{ ref('stg_redcap__vital_status') }}
    group by record_id
),

anchors as (
    select
        enrollment.record_id,
        enrollment.source_row as enrollment_source_row,
        enrollment.enrollment_date,
        infusions.day0_date,
        infusions.n_infusions,
        infusions.day0_source_row,
        infusions.day0_event_name,
        vital_status.vital_status_source_row,
        vital_status.vital_status_event_name,
        vital_status.death_source_row,
        vital_status.death_event_name,
        vital_status.death_date as death_date_recorded,
        vital_status.death_cause_code,
        vital_status.death_treatment_related,
        vital_status.vital_status_code,
        vital_status.last_contact_date as last_contact_date_recorded,
        export.export_date,
        case
            when vital_status.death_date is null and vital_status.vital_status_code = 2
                then 'recorded as dead without a usable death date'
            when vital_status.n_death_dates > 1 then 'two different death dates recorded'
            when vital_status.death_date is not null and vital_status.vital_status_code <> 2
                then 'a death date recorded while the vital status is not Dead'
            when vital_status.death_date < infusions.day0_date then 'death date before day 0'
            when vital_status.death_date < enrollment.enrollment_date then 'death date before enrollment'
            when vital_status.death_date > export.export_date then 'death date after the export date'
        end as death_conflict,
        case
            when undated_infusions.record_id is not null
                then 'infusion ' || coalesce(cast(undated_infusions.instance as varchar), '')
                     || ' has no usable date, so day 0 (the first infusion) is unknown'
            when infusions.day0_date > export.export_date then 'first infusion (day 0) after the export date'
            when infusions.day0_date < enrollment.enrollment_date - {{ lookback_days }}
                then 'first infusion (day 0) more than {{ lookback_days }} days before enrollment'
        end as day0_conflict
    from enrollment
    inner join infusions on infusions.record_id = enrollment.record_id
    left join undated_infusions on undated_infusions.record_id = enrollment.record_id
    left join vital_status on vital_status.record_id = enrollment.record_id
    cross join export
    where enrollment.preference = 1
)

select
    record_id,
    enrollment_source_row,
    enrollment_date,
    day0_date,
    n_infusions,
    day0_source_row,
    day0_event_name,
    vital_status_source_row,
    vital_status_event_name,
    death_source_row,
    death_event_name,
    case when death_conflict is null then death_date_recorded end as death_date,
    death_date_recorded,
    death_cause_code,
    death_treatment_related,
    vital_status_code,
    case when last_contact_date_recorded between day0_date and export_date then last_contact_date_recorded
    end as last_contact_date,
    last_contact_date_recorded,
    export_date,
    death_conflict,
    day0_conflict
from anchors
