"""``finesweep dashboard``: a web page per sweep (leaderboard, curves, study) that follows a running sweep,
and picks and exports the checkpoint to keep. :func:`dashboard.app.create_app` builds the app."""
