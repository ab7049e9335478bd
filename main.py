"""Entry point: python main.py [validate|convert|nodes|...] (see --help)."""

import sys

from clipig_nodes.cli import main

if __name__ == "__main__":
    sys.exit(main())
