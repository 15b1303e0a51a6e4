"""EventService, PlayerService and RulesAdminService."""
