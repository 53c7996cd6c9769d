"""The ``cryptobot`` command line (typer). One module per command group."""
