{{ stg_redcap_instrument('skin_score') }}
