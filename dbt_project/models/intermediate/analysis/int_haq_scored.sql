-- HAQ-DI: each category score (0-3) is raised to 2 where its aids/help box is ticked; the index is the mean
-- of the answered categories, computed only when at least 6 of the 8 are answered.
{%- set categories = ['dressing', 'arising', 'eating', 'walking', 'hygiene', 'reach', 'grip', 'activities'] %}
with adjusted as (
    select record_id, source_row, pt_global, md_global,
        {%- for c in categories %}
        case when haq_{{ c }} is null then null
             when aids_{{ c }} then greatest(haq_{{ c }}, 2)
             else haq_{{ c }} end as adjusted_{{ c }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('stg_redcap__haq') }}
),

counted as (
    select *,
        {% for c in categories %}(adjusted_{{ c }} is not null)::integer{{ " +" if not loop.last }}
        {% endfor %} as n_answered,
        {% for c in categories %}coalesce(adjusted_{{ c }}, 0){{ " +" if not loop.last }}
        {% endfor %} as adjusted_sum
    from adjusted
)

select
    record_id,
    source_row,
    n_answered,
    case when n_answered >= 6 then adjusted_sum / n_answered end as haq_di,
    pt_global,
    md_global
from counted
