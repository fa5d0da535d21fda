-- Time-to-event analysis dataset (CDISC ADaM ADTTE) for overall survival from day 0 (TRTSDT, first infusion).
-- Event: death (CNSR 0). A patient without death is censored (CNSR 1) at the latest of last contact and latest
-- dated assessment. A patient who cannot be placed in time (a recorded death without a usable date, a death
-- before day 0 or before enrollment, a day 0 in doubt: int_patient_anchors) keeps a row but is not analysed:
-- ANL01FL, CNSR, ADT and times are NULL and exclusion_reason says why. A recorded death is never censored as alive.
with patients as (
    select *, coalesce(death_conflict, day0_conflict) as exclusion_reason
    from {{ ref('adsl') }}
),

ends as (
    select *,
        case when exclusion_reason is null then coalesce(DTHDT, LSTALVDT, TRTSDT) end as end_date
    from patients
)

select
    USUBJID,
    'OS' as PARAMCD,
    'Overall survival' as PARAM,
    TRTSDT as STARTDT,
    end_date as ADT,
    datediff('day', TRTSDT, end_date) as ADY,
    datediff('day', TRTSDT, end_date) / 365.25 as AVAL,
    'YEARS' as AVALU,
    case when exclusion_reason is null then (DTHDT is null)::integer end as CNSR,
    case
        when exclusion_reason is not null then null
        when DTHDT is not null then 'death'
        when last_contact_date is not null and last_contact_date >= coalesce(last_assessment_date, last_contact_date)
            then 'last contact'
        else 'last assessment'
    end as EVNTDESC,
    'ADSL' as SRCDOM,
    case
        when exclusion_reason is not null then null
        when DTHDT is not null then 'DTHDT'
        when LSTALVDT is not null then 'LSTALVDT'
        else 'TRTSDT'
    end as SRCVAR,
    case when exclusion_reason is null then 'Y' end as ANL01FL,
    exclusion_reason
from ends
