{{ stg_redcap_instrument('labs', {
    'lab_date': ['lab_date', 'date'],
    'esr_mm_h': ['esr_mm_h', 'double'],
    'crp_mg_l': ['crp_mg_l', 'double'],
    'hemoglobin_g_l': ['hemoglobin_g_l', 'double'],
    'creatinine_umol_l': ['creatinine_umol_l', 'double'],
}) }}
