{{ stg_redcap_instrument('infusion', repeating=true) }}
