{{ stg_redcap_instrument('echo', {
    'echo_date': ['echo_date', 'date'],
    'echo_pasp_mmhg': ['echo_pasp_mmhg', 'double'],
    'echo_trv_ms': ['echo_trv_ms', 'double'],
    'echo_lvef_pct': ['echo_lvef_pct', 'double'],
}) }}
