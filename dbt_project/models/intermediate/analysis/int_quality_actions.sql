-- What the suites decided for the analysis: assessments left out whole ('excluded', by any stage) and cells
-- nulled after staging (by the plausibility stage; conformance nulls were applied in staging already).
select distinct source_row, instrument, cast(null as varchar) as field, 'excluded' as action
from {{ source('quality', 'findings') }}
where action = 'excluded' and source_row is not null and instrument is not null
union all
select distinct source_row, instrument, field, 'nulled' as action
from {{ source('quality', 'findings') }}
where action = 'nulled' and stage = 'plausibility' and source_row is not null and field is not null
