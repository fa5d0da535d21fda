{{ stg_redcap_instrument('pft') }}
