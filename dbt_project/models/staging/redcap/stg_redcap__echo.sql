{{ stg_redcap_instrument('echo') }}
