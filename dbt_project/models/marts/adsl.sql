-- Subject-level analysis dataset (CDISC ADaM ADSL): one row per placed patient. Choice codes become the data
-- dictionary's labels (macro redcap_label, seed redcap_choices).
with last_assessment as (
    select record_id, max(assessment_date) as last_assessment_date
    from {{ ref('int_assessments_windowed') }}
    group by record_id
),

baseline as (
    select record_id,
        max(value) filter (where param = 'mrss_total') as baseline_mrss,
        max(value) filter (where param = 'fvc_pct_pred') as baseline_fvc,
        max(value) filter (where param = 'dlco_pct_pred') as baseline_dlco,
        max(value) filter (where param = 'echo_pasp_mmhg') as baseline_pasp,
        max(value) filter (where param = 'haq_di') as baseline_haq_di
    from {{ ref('adbds') }}
    where analysed and timepoint = 'baseline'
    group by record_id
)

select
    anchors.record_id,
    enrollment.subject_pseudonym,
    {{ redcap_label('sex', 'enrollment.sex_code') }} as sex,
    enrollment.age_at_day0 as age_years,
    {{ redcap_label('ssc_subtype', 'enrollment.ssc_subtype_code') }} as ssc_subtype,
    anchors.enrollment_date,
    anchors.day0_date,
    anchors.n_infusions,
    datediff('day', enrollment.first_non_raynaud_date, anchors.day0_date) / 365.25 as disease_duration_years,
    datediff('day', enrollment.raynaud_onset_date, anchors.day0_date) / 365.25 as raynaud_duration_years,
    enrollment.acr_eular_2013_score,
    enrollment.ab_scl70,
    enrollment.ab_centromere,
    enrollment.ab_rnapol3,
    enrollment.ab_u1rnp,
    enrollment.ab_ana,
    enrollment.ild_baseline,
    enrollment.pah_baseline,
    enrollment.digital_ulcers_baseline,
    enrollment.prior_cyclophosphamide,
    enrollment.prior_mmf,
    enrollment.prior_methotrexate,
    enrollment.prior_glucocorticoids,
    enrollment.prior_other,
    {{ redcap_label('vital_status', 'anchors.vital_status_code') }} as vital_status,
    anchors.death_date,
    anchors.death_date_recorded,
    anchors.death_conflict,
    anchors.day0_conflict,
    {{ redcap_label('death_cause', 'anchors.death_cause_code') }} as death_cause,
    anchors.death_treatment_related,
    anchors.last_contact_date,
    last_assessment.last_assessment_date,
    case when anchors.death_date is not null then anchors.death_date
         else greatest(anchors.last_contact_date, last_assessment.last_assessment_date) end as last_known_alive_date,
    coalesce(anchors.vital_status_code = 3 and anchors.death_date is null, false) as lost_to_follow_up,
    baseline.baseline_mrss,
    baseline.baseline_fvc,
    baseline.baseline_dlco,
    baseline.baseline_pasp,
    baseline.baseline_haq_di
from {{ ref('int_patient_anchors') }} as anchors
-- the enrollment form the anchors chose (the baseline event's, else the first in the export)
inner join {{ ref('stg_redcap__enrollment') }} as enrollment on enrollment.source_row = anchors.enrollment_source_row
left join last_assessment on last_assessment.record_id = anchors.record_id
left join baseline on baseline.record_id = anchors.record_id
