"""Check-ins: the program, daily check-ins, make-ups, streaks and calendars."""
