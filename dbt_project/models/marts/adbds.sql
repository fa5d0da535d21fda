-- Basic data structure (CDISC ADaM BDS): one row per analysable dated assessment and parameter, with its
-- analysis window (AVISIT), whether it is the analysed assessment of that window (ANL01FL), baseline (BASE) and
-- change from baseline (CHG, PCHG). Variable names are ADaM's where one exists (_marts.yml says which are not).
with assessments as (
    select
        windowed.record_id,
        measures.param,
        windowed.instrument,
        windowed.source_row,
        windowed.event_name,
        windowed.repeat_instance,
        windowed.assessment_date,
        windowed.study_day,
        windowed.timepoint,
        windowed.window_order,
        windowed.target_day,
        windowed.analysed,
        measures.value
    from {{ ref('int_assessments_windowed') }} as windowed
    inner join {{ ref('int_measures_long') }} as measures
        on measures.source_row = windowed.source_row and measures.instrument = windowed.instrument
),

baseline as (
    select record_id, param, value as baseline_value
    from assessments
    where analysed and timepoint = 'baseline'
),

-- the REDCap field a parameter is read from (is_measure) and its label; the derived scores have no such field
fields as (
    select field, instrument, label, is_measure, field_type in ('radio', 'dropdown', 'yesno', 'truefalse') as coded
    from {{ ref('redcap_fields') }}
    where field_type <> 'checkbox'
)

select
    assessments.record_id as USUBJID,
    assessments.param as PARAMCD,
    coalesce(fields.label, case assessments.param when 'haq_di' then 'HAQ Disability Index (HAQ-DI)' end) as PARAM,
    assessments.instrument as SRCDOM,
    case when fields.is_measure then fields.field end as SRCVAR,
    assessments.source_row as SRCSEQ,
    assessments.event_name as VISIT,
    assessments.repeat_instance,
    assessments.assessment_date as ADT,
    assessments.study_day as ADY,
    assessments.timepoint as AVISIT,
    assessments.window_order as AVISITN,
    assessments.target_day as AWTARGET,
    case when assessments.analysed then 'Y' end as ANL01FL,
    case when assessments.analysed and assessments.timepoint = 'baseline' then 'Y' end as ABLFL,
    assessments.value as AVAL,
    baseline.baseline_value as BASE,
    case when assessments.analysed and assessments.timepoint <> 'baseline'
         then assessments.value - baseline.baseline_value end as CHG,
    -- a percent change of a code (HRCT change, Medsger grade, a yes/no) means nothing: only for measurements
    case when assessments.analysed and assessments.timepoint <> 'baseline' and baseline.baseline_value <> 0
              and not coalesce(fields.coded, false)
         then 100.0 * (assessments.value - baseline.baseline_value) / baseline.baseline_value end as PCHG
from assessments
left join baseline on baseline.record_id = assessments.record_id and baseline.param = assessments.param
left join fields on fields.field = assessments.param and fields.instrument = assessments.instrument
