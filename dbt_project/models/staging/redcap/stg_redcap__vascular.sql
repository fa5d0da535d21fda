{{ stg_redcap_instrument('vascular', {
    'vasc_date': ['vasc_date', 'date'],
    'rcs': ['rcs', 'double'],
    'du_active_count': ['du_active_count', 'integer'],
    'pitting_scars': ['pitting_scars', 'boolean'],
    'gangrene': ['gangrene', 'boolean'],
    'medsger_pv': ['medsger_pv', 'integer'],
}) }}
