{{ stg_redcap_instrument('labs') }}
