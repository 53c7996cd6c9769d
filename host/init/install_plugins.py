#!/usr/bin/env python3
"""Run the plugin install step from a checkout: the same code the host image runs.

In the image, the chart calls ``python -m crypto_bot_core.deploy.install_plugins``;
this script exists so the step can be run and tested from the repository
(``python host/init/install_plugins.py --help``). All logic lives in
``crypto_bot_core/deploy/`` where it is typed and tested.
"""

import sys

from crypto_bot_core.deploy.install_plugins import main

if __name__ == "__main__":
    sys.exit(main())
