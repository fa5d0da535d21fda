-- Time-to-event analysis dataset (CDISC ADaM ADTTE) for overall survival from day 0 (first infusion).
-- Event: death. A patient without death is censored at the latest of last contact and latest dated assessment.
select
    record_id,
    'OS' as param,
    day0_date,
    coalesce(death_date, last_known_alive_date, day0_date) as end_date,
    (death_date is not null)::integer as event,
    datediff('day', day0_date, coalesce(death_date, last_known_alive_date, day0_date)) as time_days,
    datediff('day', day0_date, coalesce(death_date, last_known_alive_date, day0_date)) / 365.25 as time_years,
    case
        when death_date is not null then 'death'
        when last_contact_date is not null and last_contact_date >= coalesce(last_assessment_date, last_contact_date)
            then 'last contact'
        else 'last assessment'
    end as censor_reason
from {{ ref('adsl') }}
