-- Analysable assessments in their analysis window. Per patient, instrument and window the analysed one is
-- the closest to the target day; a tie goes to the later one (then to the later export row).
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

windowed as (
    select analysable.*, windows.timepoint, windows.window_order, windows.target_day
    from analysable
    left join {{ ref('analysis_windows') }} as windows
        on analysable.study_day between windows.min_day and windows.max_day
)

select
    *,
    timepoint is not null and row_number() over (
        partition by record_id, instrument, timepoint
        order by abs(study_day - target_day), study_day desc, source_row desc
    ) = 1 as analysed
from windowed
