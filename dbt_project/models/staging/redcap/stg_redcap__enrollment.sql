{{ stg_redcap_instrument('enrollment') }}
