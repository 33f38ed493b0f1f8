"""``python -m fairmicro`` runs the command line."""

from fairmicro.cli.app import main

main()
