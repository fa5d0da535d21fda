{% test value_between(model, column_name, min_value=none, max_value=none) %}
select * from {{ model }}
where {{ column_name }} is not null and (
    false
    {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
    {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
)
{% endtest %}

{#- At most one analysed row per partition; `analysed` is the SQL condition of an analysed row. -#}
{% test one_analysed_per_window(model, partition_by, analysed='analysed') %}
select {{ partition_by | join(', ') }}, count(*) as n_analysed
from {{ model }}
where {{ analysed }}
group by {{ partition_by | join(', ') }}
having count(*) > 1
{% endtest %}
