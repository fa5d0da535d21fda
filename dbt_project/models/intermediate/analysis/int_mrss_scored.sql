-- The plan's mRSS: the recorded total; if it is blank and all 17 sites are filled, their sum. If both are
-- filled and disagree the assessment is not analysed (the conformance suite reports it and excludes it).
-- A total that is filled but unusable (not a number, outside 0-51) still counts as filled: the conformance
-- suite excludes the assessment, and an excluded assessment has no score here (the sites' sum never
-- replaces a filled total).
{%- set sites = ['mrss_face', 'mrss_chest', 'mrss_abdomen', 'mrss_fingers_r', 'mrss_fingers_l', 'mrss_hand_r', 'mrss_hand_l', 'mrss_forearm_r', 'mrss_forearm_l', 'mrss_upperarm_r', 'mrss_upperarm_l', 'mrss_thigh_r', 'mrss_thigh_l', 'mrss_leg_r', 'mrss_leg_l', 'mrss_foot_r', 'mrss_foot_l'] %}
with scored as (
    select *,
        {% for site in sites %}({{ site }} is not null)::integer{{ " +" if not loop.last }}
        {% endfor %} as n_sites_filled,
        {% for site in sites %}coalesce({{ site }}, 0){{ " +" if not loop.last }}
        {% endfor %} as sites_sum
    from {{ ref('stg_redcap__skin_score') }}
),

excluded as (
    select distinct source_row from {{ ref('int_quality_actions') }}
    where action = 'excluded' and instrument = 'skin_score'
)

select
    scored.record_id,
    scored.source_row,
    scored.mrss_total_recorded,
    case when n_sites_filled = 17 then sites_sum end as mrss_sites_sum,
    case
        when excluded.source_row is not null then null
        when mrss_total_recorded is not null and n_sites_filled = 17 and sites_sum <> mrss_total_recorded then null
        when mrss_total_recorded is not null then mrss_total_recorded
        when n_sites_filled = 17 then sites_sum
    end as mrss_total
from scored
left join excluded on excluded.source_row = scored.source_row
