"""Social play: duels between two players, and friends' assists on tasks."""
