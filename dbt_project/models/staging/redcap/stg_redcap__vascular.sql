{{ stg_redcap_instrument('vascular') }}
