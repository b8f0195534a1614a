"""`python -m broadsheet` runs the command line."""

from .cli import main

main()
