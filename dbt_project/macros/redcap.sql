{#-
  Staging of one REDCap instrument from raw.records: the rows that are assessments of it, its fields typed.

  * quarantined export rows (quality.quarantine) are left out;
  * a cell that the conformance suites found unusable (a finding with action 'nulled') is NULL;
  * a row is an assessment of the instrument when at least one of its fields is filled; an unchecked
    checkbox ('0') does not count, since REDCap writes 0 into every checkbox of a designated, empty form;
  * a repeating instrument's rows are those that name it in redcap_repeat_instrument.

  fields: {export column: [name in staging, type]}; type 'checkbox' becomes a BOOLEAN.
-#}
{% macro stg_redcap_instrument(instrument, fields, repeating=false) %}
with records as (
    select * from {{ source('redcap', 'records') }}
),

quarantined as (
    select distinct source_row from {{ source('quality', 'quarantine') }}
),

rejected_cells as (
    select source_row, list(field) as fields
    from {{ source('quality', 'conformance_findings') }}
    where action = 'nulled' and source_row is not null and field is not null
    group by source_row
),

rows as (
    select records.*, coalesce(rejected_cells.fields, []::varchar[]) as _rejected
    from records
    left join rejected_cells on rejected_cells.source_row = records._source_row
    where records._source_row not in (select source_row from quarantined)
    {%- if repeating %}
      and records.redcap_repeat_instrument = '{{ instrument }}'
    {%- else %}
      and records.redcap_repeat_instrument is null
    {%- endif %}
      and (
        {%- for column, spec in fields.items() %}
        {% if not loop.first %}or {% endif -%}
        {%- if spec[1] == 'checkbox' -%} records."{{ column }}" = '1' {%- else -%} records."{{ column }}" is not null {%- endif -%}
        {%- endfor %}
      )
)

select
    record_id,
    redcap_event_name as event_name,
    try_cast(redcap_repeat_instance as integer) as repeat_instance,
    _source_row as source_row,
    {%- for column, spec in fields.items() %}
    {{ redcap_typed(column, spec[1]) }} as {{ spec[0] }},
    {%- endfor %}
    try_cast("{{ instrument }}_complete" as integer) as form_status
from rows
{% endmacro %}


{% macro redcap_typed(column, type) -%}
    case when list_contains(_rejected, '{{ column }}') then null
    {%- if type in ('checkbox', 'boolean') %}
         when "{{ column }}" = '1' then true when "{{ column }}" = '0' then false end
    {%- else %}
         else try_cast("{{ column }}" as {{ type }}) end
    {%- endif %}
{%- endmacro %}


{#- Every instrument of the study that has a staging model (stg_redcap__<instrument>). -#}
{% macro redcap_instruments() %}
    {{ return(['enrollment'] + dated_instruments() | map(attribute=0) | list) }}
{% endmacro %}


{#- Instruments whose rows are dated assessments, with the field that dates them. -#}
{% macro dated_instruments() %}
    {{ return([
        ('infusion', 'infusion_date'),
        ('skin_score', 'mrss_date'),
        ('hrct', 'hrct_date'),
        ('echo', 'echo_date'),
        ('pft', 'pft_date'),
        ('haq', 'haq_date'),
        ('vascular', 'vasc_date'),
        ('labs', 'lab_date'),
        ('adverse_event', 'ae_onset_date'),
        ('vital_status', 'last_contact_date'),
    ]) }}
{% endmacro %}


{#- Long form (source_row, instrument, param, value) of numeric columns of a staging model; NULLs are kept. -#}
{% macro measures_of(relation, instrument, columns) %}
    select source_row, '{{ instrument }}' as instrument, param, value
    from (
        select source_row,
        {%- for column in columns %}
            cast({{ column }} as double) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ relation }}
    ) unpivot include nulls (value for param in ({{ columns | join(', ') }}))
{% endmacro %}
