"""The in-container runner ("mini-worker"); see runner.py. Only its source is shipped."""
