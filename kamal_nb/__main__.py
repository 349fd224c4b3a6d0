import sys

from kamal_nb.cli import main

sys.exit(main())
