//! Placeholder: the token-exchange client lands here.
