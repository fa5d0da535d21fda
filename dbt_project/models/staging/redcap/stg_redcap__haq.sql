{{ stg_redcap_instrument('haq') }}
