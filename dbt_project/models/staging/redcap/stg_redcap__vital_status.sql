{{ stg_redcap_instrument('vital_status') }}
