import sys

from labelport.cli import main

sys.exit(main())
