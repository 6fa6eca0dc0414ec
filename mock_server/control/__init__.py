"""What the control plane and the command line drive, beside the API: seed files, the state
file, and records written to channels as the task would write them."""
