{{ stg_redcap_instrument('hrct') }}
