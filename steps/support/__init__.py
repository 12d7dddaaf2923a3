"""What the step modules and the hooks (environment.py) share on behave's side of the driver layer. behave
execs every `steps/*.py` as a step module; this package is imported (`from steps.support...`)."""
