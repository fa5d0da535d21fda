-- Every analysed parameter of every assessment, one row each (source_row, instrument, param, value).
with measures as (
    {{ measures_of(ref('int_mrss_scored'), 'skin_score', ['mrss_total']) }}
    union all
    {{ measures_of(ref('int_haq_scored'), 'haq', ['haq_di', 'pt_global', 'md_global']) }}
    union all
    {{ measures_of(ref('stg_redcap__pft'), 'pft', ['fvc_pct_pred', 'dlco_pct_pred']) }}
    union all
    {{ measures_of(ref('stg_redcap__echo'), 'echo', ['echo_pasp_mmhg', 'echo_trv_ms', 'echo_lvef_pct']) }}
    union all
    {{ measures_of(ref('stg_redcap__hrct'), 'hrct', ['hrct_ild', 'hrct_extent_pct', 'hrct_change_code']) }}
    union all
    {{ measures_of(ref('stg_redcap__vascular'), 'vascular', ['rcs', 'du_active_count', 'medsger_pv', 'pitting_scars', 'gangrene']) }}
    union all
    {{ measures_of(ref('stg_redcap__labs'), 'labs', ['esr_mm_h', 'crp_mg_l', 'hemoglobin_g_l', 'creatinine_umol_l']) }}
),

named as (
    select source_row, instrument,
        case param when 'hrct_change_code' then 'hrct_change' else param end as param,
        value
    from measures
),

nulled as (
    select source_row, field from {{ ref('int_quality_actions') }} where action = 'nulled'
)

select
    named.source_row,
    named.instrument,
    named.param,
    case when nulled.source_row is null then named.value end as value
from named
left join nulled on nulled.source_row = named.source_row and nulled.field = named.param
