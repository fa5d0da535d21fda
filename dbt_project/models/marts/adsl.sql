-- Subject-level analysis dataset (CDISC ADaM ADSL): one row per placed patient. Choice codes become the data
-- dictionary's labels (macro redcap_label, seed redcap_choices); SEX is CDISC controlled terminology. Variable
-- names are ADaM's where one exists; the study's own variables are lowercase (_marts.yml says which).
with last_assessment as (
    select record_id, max(assessment_date) as last_assessment_date
    from {{ ref('int_assessments_windowed') }}
    group by record_id
),

baseline as (
    select USUBJID as record_id,
        max(AVAL) filter (where PARAMCD = 'mrss_total') as baseline_mrss,
        max(AVAL) filter (where PARAMCD = 'fvc_pct_pred') as baseline_fvc,
        max(AVAL) filter (where PARAMCD = 'dlco_pct_pred') as baseline_dlco,
        max(AVAL) filter (where PARAMCD = 'echo_pasp_mmhg') as baseline_pasp,
        max(AVAL) filter (where PARAMCD = 'haq_di') as baseline_haq_di
    from {{ ref('adbds') }}
    where ABLFL = 'Y'
    group by USUBJID
)

select
    anchors.record_id as USUBJID,
    enrollment.subject_pseudonym,
    -- CDISC controlled terminology (C66731) for the dictionary's labels
    case {{ redcap_label('sex', 'enrollment.sex_code') }} when 'Female' then 'F' when 'Male' then 'M' end as SEX,
    {{ redcap_label('sex', 'enrollment.sex_code') }} as sex_label,
    enrollment.age_at_day0 as AGE,
    'YEARS' as AGEU,
    {{ redcap_label('ssc_subtype', 'enrollment.ssc_subtype_code') }} as ssc_subtype,
    anchors.enrollment_date,
    anchors.day0_date as TRTSDT,
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
    case when anchors.vital_status_code = 2 or anchors.death_date_recorded is not null then 'Y' end as DTHFL,
    anchors.death_date as DTHDT,
    anchors.death_date_recorded,
    anchors.death_conflict,
    anchors.day0_conflict,
    {{ redcap_label('death_cause', 'anchors.death_cause_code') }} as DTHCAUS,
    anchors.death_treatment_related,
    anchors.last_contact_date,
    last_assessment.last_assessment_date,
    case when anchors.death_date is not null then anchors.death_date
         else greatest(anchors.last_contact_date, last_assessment.last_assessment_date) end as LSTALVDT,
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
