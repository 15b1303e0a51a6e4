"""LeaderboardService and LeaderboardAdminService."""
