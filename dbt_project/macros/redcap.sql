{#-
  Staging of one REDCap instrument from raw.records: the rows that are assessments of it, its fields typed.

  * the fields are those of the instrument in the seed redcap_fields (generated from the data dictionary by
    `python -m study.seeds`): each export column under its staging name, cast to its type;
  * quarantined export rows (quality.quarantine) are left out;
  * a cell that the conformance suites found unusable (a finding with action 'nulled') is NULL;
  * a row is an assessment of the instrument when at least one of its fields is filled; an unchecked
    checkbox ('0') does not count, since REDCap writes 0 into every checkbox of a designated, empty form;
  * a repeating instrument's rows are those that name it in redcap_repeat_instrument.
-#}
{% macro stg_redcap_instrument(instrument, repeating=false) %}
{%- set fields = redcap_fields_of(instrument) %}
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
        {%- for f in fields %}
        {% if not loop.first %}or {% endif -%}
        records."{{ f['export_column'] }}" {{ "= '1'" if f['field_type'] == 'checkbox' else 'is not null' }}
        {%- endfor %}
      )
)

select
    record_id,
    redcap_event_name as event_name,
    try_cast(redcap_repeat_instance as integer) as repeat_instance,
    _source_row as source_row,
    {%- for f in fields %}
    {{ redcap_typed(f['export_column'], f['sql_type']) }} as {{ f['staging_column'] }},
    {%- endfor %}
    try_cast("{{ instrument }}_complete" as integer) as form_status
from rows
{% endmacro %}


{#-
  The fields of an instrument, in export order, as rows of the seed redcap_fields (export_column,
  staging_column, sql_type, field_type). They are read from the warehouse when the model runs (the seed is
  built before it); while dbt parses, the list is empty and only the dependency on the seed is recorded.
-#}
{% macro redcap_fields_of(instrument) %}
    {%- set query %}
        select export_column, staging_column, sql_type, field_type
        from {{ ref('redcap_fields') }}
        where instrument = '{{ instrument }}'
        order by field_order
    {%- endset %}
    {%- if not execute %}{{ return([]) }}{% endif %}
    {%- set fields = run_query(query).rows %}
    {%- if not fields %}
        {{ exceptions.raise_compiler_error("No field of the instrument '" ~ instrument ~ "' in the seed "
            ~ "redcap_fields: regenerate the seeds from the data dictionary (python -m study.seeds).") }}
    {%- endif %}
    {{ return(fields) }}
{% endmacro %}


{#- A raw.records cell (text) as its staging type; BOOLEAN (yes/no, checkbox choices) from REDCap's 1/0. -#}
{% macro redcap_typed(column, type) -%}
    case when list_contains(_rejected, '{{ column }}') then null
    {%- if type | lower == 'boolean' %}
         when "{{ column }}" = '1' then true when "{{ column }}" = '0' then false end
    {%- else %}
         else try_cast("{{ column }}" as {{ type }}) end
    {%- endif %}
{%- endmacro %}


{#- The label of a choice code of a REDCap field (seed redcap_choices); NULL for a code that is not a choice. -#}
{% macro redcap_label(field, code) -%}
    (select choices.label from {{ ref('redcap_choices') }} as choices
     where choices.field = '{{ field }}' and choices.code = cast({{ code }} as varchar))
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


{#-
  Long form (source_row, instrument, param, value) of numeric columns of a relation; NULLs are kept.
  columns: [(column, param)], the param named as the REDCap field.
-#}
{% macro measures_of(relation, instrument, columns) %}
    select source_row, '{{ instrument }}' as instrument, param, value
    from (
        select source_row,
        {%- for column, param in columns %}
            cast({{ column }} as double) as {{ param }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ relation }}
    ) unpivot include nulls (value for param in ({{ columns | map(attribute=1) | join(', ') }}))
{% endmacro %}


{#-
  The measures of every instrument (fields with is_measure in the seed redcap_fields), in long form as
  measures_of gives it, one union branch per instrument; read from the warehouse when the model runs. The
  calling model must declare its dependency on every staging model (`-- depends_on:`), as dbt cannot see refs
  made at run time.
-#}
{% macro redcap_measures() %}
    {%- set query %}
        select instrument, staging_column, field
        from {{ ref('redcap_fields') }}
        where is_measure
        order by field_order
    {%- endset %}
    {%- if not execute %}
        {{ return('select null as source_row, null as instrument, null as param, null as value') }}
    {%- endif %}
    {%- set by_instrument = {} %}
    {%- for row in run_query(query).rows %}
        {%- do by_instrument.setdefault(row['instrument'], []).append((row['staging_column'], row['field'])) %}
    {%- endfor %}
    {%- for instrument, columns in by_instrument.items() %}
    {{ measures_of(ref('stg_redcap__' ~ instrument), instrument, columns) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}
