"""Team and community goals: definitions and teams, contributions, and reads."""
