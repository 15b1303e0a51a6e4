"""LeagueService and LeagueAdminService."""
