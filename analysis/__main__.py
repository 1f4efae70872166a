"""``python -m analysis``: the command-line entry point."""

from analysis.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
