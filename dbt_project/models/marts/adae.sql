-- Adverse events (CDISC ADaM OCCDS, ADAE): one row per analysable adverse event instance. Variable names are
-- ADaM's where one exists; codes keep their numeric variable (AERELN, AEOUTN) beside the dictionary's label.
-- AREL is the study's causality rule (analysis plan): RELATED where the relation is possible, probable or definite.
with actions as (
    select * from {{ ref('int_quality_actions') }}
)

select
    events.record_id as USUBJID,
    'adverse_event' as SRCDOM,
    events.source_row as SRCSEQ,
    events.event_name as VISIT,
    events.repeat_instance,
    events.ae_term as AETERM,
    events.ae_onset_date as ASTDT,
    case when exists (
        select 1 from actions
        where actions.action = 'nulled' and actions.source_row = events.source_row and actions.field = 'ae_end_date'
    ) then null else events.ae_end_date end as AENDT,
    datediff('day', anchors.day0_date, events.ae_onset_date) as ASTDY,
    events.ae_grade as AETOXGR,
    case events.ae_serious when true then 'Y' when false then 'N' end as AESER,
    {{ redcap_label('ae_relation', 'events.ae_relation') }} as AEREL,
    events.ae_relation as AERELN,
    case when events.ae_relation in (3, 4, 5) then 'RELATED' else 'NOT RELATED' end as AREL,
    {{ redcap_label('ae_outcome', 'events.ae_outcome') }} as AEOUT,
    events.ae_outcome as AEOUTN
from {{ ref('stg_redcap__adverse_event') }} as events
inner join {{ ref('int_patient_anchors') }} as anchors on anchors.record_id = events.record_id
where not exists (
    select 1 from actions
    where actions.action = 'excluded' and actions.source_row = events.source_row
      and actions.instrument = 'adverse_event'
)
