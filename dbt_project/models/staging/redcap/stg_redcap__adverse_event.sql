{{ stg_redcap_instrument('adverse_event', repeating=true) }}
