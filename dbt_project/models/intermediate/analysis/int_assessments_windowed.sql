-- Analysable assessments in their analysis window. Per patient, instrument and window the analysed one is
-- the closest to the target day among those with a usable value (an assessment whose every value was nulled
-- or not analysable does not compete); a tie goes to the later one (then to the later export row).
-- A patient whose day 0 is in doubt (int_patient_anchors.day0_conflict) has no assessment in any window.
with analysable as (
    select timeline.*
    from {{ ref('int_assessment_timeline') }} as timeline
    where timeline.assessment_date is not null
      and timeline.instrument <> 'vital_status'
      and not exists (
          select 1 from {{ ref('int_quality_actions') }} as actions
          where actions.action = 'excluded'
            and actions.source_row = timeline.source_row
            and actions.instrument = timeline.instrument
      )
),

valued as (
    select distinct source_row, instrument from {{ ref('int_measures_long') }} where value is not null
),

windowed as (
    select
        analysable.*,
        windows.timepoint,
        windows.window_order,
        windows.target_day,
        valued.source_row is not null as has_value
    from analysable
    inner join {{ ref('int_patient_anchors') }} as anchors on anchors.record_id = analysable.record_id
    left join {{ ref('analysis_windows') }} as windows
        on analysable.study_day between windows.min_day and windows.max_day and anchors.day0_conflict is null
    left join valued
        on valued.source_row = analysable.source_row and valued.instrument = analysable.instrument
)

select
    *,
    timepoint is not null and has_value and row_number() over (
        partition by record_id, instrument, timepoint, has_value
        order by abs(study_day - target_day), study_day desc, source_row desc
    ) = 1 as analysed
from windowed
