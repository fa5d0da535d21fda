{{ stg_redcap_instrument('vital_status', {
    'last_contact_date': ['last_contact_date', 'date'],
    'vital_status': ['vital_status_code', 'integer'],
    'death_date': ['death_date', 'date'],
    'death_cause': ['death_cause_code', 'integer'],
    'death_treatment_related': ['death_treatment_related', 'boolean'],
}) }}
