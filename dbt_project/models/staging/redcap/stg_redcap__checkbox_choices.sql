-- Checkboxes unpivoted: one row per assessment and checkbox choice (autoantibodies, prior therapy, HAQ aids),
-- with the choice's label. Only rows that are assessments of the checkbox's instrument are here (a designated
-- but empty form shows 0 in every checkbox; that is not an answer).
with cells as (
    unpivot (
        select _source_row, record_id, redcap_event_name, columns('^.+___[0-9]+$')
        from {{ source('redcap', 'records') }}
    ) on columns('^.+___[0-9]+$') into name export_column value cell
),

rejected_cells as (
    select distinct source_row, field as export_column
    from {{ source('quality', 'conformance_findings') }}
    where action = 'nulled' and source_row is not null
),

assessments as (
    {%- for form in redcap_instruments() %}
    select source_row, '{{ form }}' as instrument from {{ ref('stg_redcap__' ~ form) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    cells.record_id,
    cells.redcap_event_name as event_name,
    cells._source_row as source_row,
    fields.instrument,
    choices.field,
    cast(choices.code as integer) as choice_code,
    choices.label as choice_label,
    case when rejected_cells.source_row is not null then null
         when cells.cell = '1' then true when cells.cell = '0' then false end as checked
from cells
inner join {{ ref('redcap_fields') }} as fields
    on fields.export_column = cells.export_column and fields.field_type = 'checkbox'
inner join {{ ref('redcap_choices') }} as choices on choices.export_column = cells.export_column
inner join assessments on assessments.source_row = cells._source_row and assessments.instrument = fields.instrument
left join rejected_cells
    on rejected_cells.source_row = cells._source_row and rejected_cells.export_column = cells.export_column
