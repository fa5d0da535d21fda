{{ stg_redcap_instrument('hrct', {
    'hrct_date': ['hrct_date', 'date'],
    'hrct_ild': ['hrct_ild', 'boolean'],
    'hrct_extent_pct': ['hrct_extent_pct', 'double'],
    'hrct_pattern': ['hrct_pattern_code', 'integer'],
    'hrct_change': ['hrct_change_code', 'integer'],
}) }}
