-- Basic data structure (CDISC ADaM BDS): one row per analysable dated assessment and parameter, with its
-- analysis window, whether it is the analysed assessment of that window, baseline and change from baseline.
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
)

select
    assessments.*,
    baseline.baseline_value,
    case when assessments.analysed and assessments.timepoint <> 'baseline'
         then assessments.value - baseline.baseline_value end as change_from_baseline,
    case when assessments.analysed and assessments.timepoint <> 'baseline' and baseline.baseline_value <> 0
         then 100.0 * (assessments.value - baseline.baseline_value) / baseline.baseline_value end
        as pct_change_from_baseline
from assessments
left join baseline on baseline.record_id = assessments.record_id and baseline.param = assessments.param
