"""``python -m crypto_bot_core.cli``: the same as the ``cryptobot`` script."""

from crypto_bot_core.cli.app import main

main()
