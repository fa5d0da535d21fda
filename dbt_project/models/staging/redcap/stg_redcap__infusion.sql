{{ stg_redcap_instrument('infusion', {
    'infusion_date': ['infusion_date', 'date'],
    'infusion_weight_kg': ['infusion_weight_kg', 'double'],
    'cell_dose_per_kg': ['cell_dose_per_kg', 'double'],
    'infusion_reaction': ['infusion_reaction', 'boolean'],
}, repeating=true) }}
