-- Every dated assessment of a placed patient, placed in time: study day, the window its date falls in and
-- the window its REDCap event label names. The plausibility suites run on this table before the analysis.
with assessments as (
    {%- for instrument, date_field in dated_instruments() %}
    select record_id, '{{ instrument }}' as instrument, source_row, event_name, repeat_instance,
        '{{ date_field }}' as date_field, {{ date_field }} as assessment_date
    from {{ ref('stg_redcap__' ~ instrument) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

windows as (
    select * from {{ ref('analysis_windows') }}
)

select
    assessments.record_id,
    assessments.instrument,
    assessments.source_row,
    assessments.event_name,
    assessments.repeat_instance,
    assessments.date_field,
    assessments.assessment_date,
    datediff('day', anchors.day0_date, assessments.assessment_date) as study_day,
    by_date.timepoint as window_by_date,
    by_event.timepoint as window_by_event,
    anchors.enrollment_date,
    anchors.day0_date,
    anchors.death_date,
    anchors.export_date
from assessments
inner join {{ ref('int_patient_anchors') }} as anchors on anchors.record_id = assessments.record_id
left join windows as by_date
    on datediff('day', anchors.day0_date, assessments.assessment_date) between by_date.min_day and by_date.max_day
left join windows as by_event
    on by_event.timepoint = regexp_replace(assessments.event_name, '_arm_[0-9]+$', '')
