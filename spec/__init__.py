"""Executable reference spec of Dynamo: pure, small-state, standard library only."""
