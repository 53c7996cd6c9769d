"""Deployment: the init step that installs plugin wheels handed over by plugin images.

In a Kubernetes pod every plugin image runs as an init container that copies
its wheels into a shared volume; the host image's last init container runs
``python -m crypto_bot_core.deploy.install_plugins``, which checks every wheel
(digests, optional signatures, manifest compatibility, dependencies) before it
installs any of them into the directory the host puts on its path. See
``host/README.md`` and ``docs/deploy/helm.md``.

Import from the modules: :mod:`.install_plugins` (the step and its CLI),
:mod:`.bundles` (the checks), :mod:`.integrity` (digests and signatures),
:mod:`.wheels` (reading a wheel without installing it). Nothing is imported
here, so ``python -m crypto_bot_core.deploy.install_plugins`` runs cleanly.
"""
