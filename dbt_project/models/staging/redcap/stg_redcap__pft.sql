{{ stg_redcap_instrument('pft', {
    'pft_date': ['pft_date', 'date'],
    'fvc_pct_pred': ['fvc_pct_pred', 'double'],
    'dlco_pct_pred': ['dlco_pct_pred', 'double'],
}) }}
