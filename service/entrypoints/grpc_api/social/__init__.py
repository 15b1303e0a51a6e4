"""DuelService, DuelAdminService and AssistService."""
