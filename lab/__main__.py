import sys

from lab.server import main

sys.exit(main())
