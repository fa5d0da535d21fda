-- Time-to-event analysis dataset (CDISC ADaM ADTTE) for overall survival from day 0 (first infusion).
-- Event: death. A patient without death is censored at the latest of last contact and latest dated assessment.
-- A patient who cannot be placed in time (a recorded death without a usable date, a death before day 0 or
-- before enrollment, a day 0 in doubt: int_patient_anchors) keeps a row but is not analysed: event and times
-- are NULL and exclusion_reason says why. A recorded death is never censored as alive.
with patients as (
    select *, coalesce(death_conflict, day0_conflict) as exclusion_reason
    from {{ ref('adsl') }}
),

ends as (
    select *,
        case when exclusion_reason is null then coalesce(death_date, last_known_alive_date, day0_date) end
            as end_date
    from patients
)

select
    record_id,
    'OS' as param,
    day0_date,
    end_date,
    case when exclusion_reason is null then (death_date is not null)::integer end as event,
    datediff('day', day0_date, end_date) as time_days,
    datediff('day', day0_date, end_date) / 365.25 as time_years,
    case
        when exclusion_reason is not null then null
        when death_date is not null then 'death'
        when last_contact_date is not null and last_contact_date >= coalesce(last_assessment_date, last_contact_date)
            then 'last contact'
        else 'last assessment'
    end as censor_reason,
    exclusion_reason is null as analysed,
    exclusion_reason
from ends
