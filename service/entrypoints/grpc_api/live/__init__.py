"""LiveService: users' live feeds."""
