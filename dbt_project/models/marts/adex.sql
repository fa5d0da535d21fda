-- Exposure (CDISC ADaM ADEX, one record per administration): one row per UC-MSC infusion. EXDOSU is the unit of
-- the dose field in the data dictionary (seed redcap_fields).
select
    infusions.record_id as USUBJID,
    'infusion' as SRCDOM,
    infusions.source_row as SRCSEQ,
    infusions.event_name as VISIT,
    infusions.repeat_instance,
    infusions.infusion_date as ASTDT,
    datediff('day', anchors.day0_date, infusions.infusion_date) as ADY,
    infusions.cell_dose_per_kg as EXDOSE,
    (select fields.unit from {{ ref('redcap_fields') }} as fields where fields.field = 'cell_dose_per_kg') as EXDOSU,
    infusions.infusion_weight_kg,
    infusions.infusion_reaction
from {{ ref('stg_redcap__infusion') }} as infusions
inner join {{ ref('int_patient_anchors') }} as anchors on anchors.record_id = infusions.record_id
where infusions.infusion_date is not null
