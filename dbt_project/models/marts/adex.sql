-- Exposure (CDISC ADaM ADEX): one row per UC-MSC infusion.
select
    infusions.record_id,
    infusions.repeat_instance,
    infusions.infusion_date,
    datediff('day', anchors.day0_date, infusions.infusion_date) as study_day,
    infusions.infusion_weight_kg,
    infusions.cell_dose_per_kg,
    infusions.infusion_reaction
from {{ ref('stg_redcap__infusion') }} as infusions
inner join {{ ref('int_patient_anchors') }} as anchors on anchors.record_id = infusions.record_id
where infusions.infusion_date is not null
