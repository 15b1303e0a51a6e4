"""Pure business rules: standard library only, time always passed in."""
