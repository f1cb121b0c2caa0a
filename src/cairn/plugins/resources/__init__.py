"""Cairn's built-in resource node types: no user script, drift checked by Cairn.

``cairn/types/resources.yaml`` declares ``cairn.nodes.File``, ``Directory``, ``Service``,
``HttpCheck`` and ``Command``, their lifecycle operations mapped to the ``cairn_resources``
plugin (``cairn_resources.file.create``, ...). One module per type holds its operations
(:mod:`.files`, :mod:`.directories`, :mod:`.services`, :mod:`.http_checks`,
:mod:`.commands`); :mod:`.dispatcher` picks one for a dispatch and turns what it did into an
outcome; :mod:`.calls` is what they share, including the shape of a drift result.

They run where the deployment's site runs its operations (the agent's local connector, or
the manager's for the ``local`` site), in a worker thread: a check may wait for a network
answer or a port for seconds, and must not hold up the connector meanwhile.
"""
