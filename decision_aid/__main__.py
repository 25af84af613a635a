import sys

from decision_aid.cli import main

sys.exit(main())
