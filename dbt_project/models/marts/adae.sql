-- Adverse events (CDISC ADaM ADAE): one row per analysable adverse event instance.
with actions as (
    select * from {{ ref('int_quality_actions') }}
)

select
    events.record_id,
    events.source_row,
    events.repeat_instance,
    events.event_name,
    events.ae_term,
    events.ae_onset_date,
    case when exists (
        select 1 from actions
        where actions.action = 'nulled' and actions.source_row = events.source_row and actions.field = 'ae_end_date'
    ) then null else events.ae_end_date end as ae_end_date,
    datediff('day', anchors.day0_date, events.ae_onset_date) as onset_study_day,
    events.ae_grade,
    events.ae_serious,
    events.ae_relation,
    coalesce(events.ae_relation in (3, 4, 5), false) as related,
    events.ae_outcome
from {{ ref('stg_redcap__adverse_event') }} as events
inner join {{ ref('int_patient_anchors') }} as anchors on anchors.record_id = events.record_id
where not exists (
    select 1 from actions
    where actions.action = 'excluded' and actions.source_row = events.source_row
      and actions.instrument = 'adverse_event'
)
