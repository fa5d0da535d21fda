-- Every analysed parameter of every assessment, one row each (source_row, instrument, param, value): the
-- derived scores (mRSS, HAQ-DI) and the fields the seed redcap_fields marks as measures (generated from the
-- data dictionary: a numeric field added to a visit instrument is here with no SQL edit). param is the
-- REDCap field name.
{%- for instrument, date_field in dated_instruments() %}
-- depends_on: {{ ref('stg_redcap__' ~ instrument) }}
{%- endfor %}
with measures as (
    {{ measures_of(ref('int_mrss_scored'), 'skin_score', [('mrss_total', 'mrss_total')]) }}
    union all
    {{ measures_of(ref('int_haq_scored'), 'haq', [('haq_di', 'haq_di')]) }}
    union all
    {{ redcap_measures() }}
),

nulled as (
    select source_row, field from {{ ref('int_quality_actions') }} where action = 'nulled'
)

select
    measures.source_row,
    measures.instrument,
    measures.param,
    case when nulled.source_row is null then measures.value end as value
from measures
left join nulled on nulled.source_row = measures.source_row and nulled.field = measures.param
