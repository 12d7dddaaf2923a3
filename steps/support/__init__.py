"""What the step modules share besides the driver layer. behave execs every `steps/*.py` as a step
module; this package is imported (`from steps.support...`), by the step modules and environment.py."""
