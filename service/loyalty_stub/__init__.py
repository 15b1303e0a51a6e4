"""The reference loyalty stub: a test double of loyalty.v1.LoyaltyService, never production."""
