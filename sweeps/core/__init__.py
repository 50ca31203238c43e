"""What every layer shares: user errors, the sweep directory's layout, value comparison and formatting,
"did you mean", loopback networking. Imports no other finesweep package."""
