"""GoalService and GoalAdminService."""
