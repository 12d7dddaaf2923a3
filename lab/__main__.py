import gc
import sys

from lab.server import main

code = main()
# The lab's objects live until the interpreter exits, whose collection of them took 0.2 s the suite waits
# for; frozen, they are freed without it (its state directory goes by its atexit finalizer all the same).
gc.freeze()
sys.exit(code)
