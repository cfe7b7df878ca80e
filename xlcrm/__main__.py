"""`python -m xlcrm …` runs the `xlcrm` command."""

from .doors.cli import main

main()
