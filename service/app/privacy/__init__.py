"""Privacy: export or erase everything stored about a user."""
