"""Cairn's stand-in for Cloudify's ``cloudify`` package, visible to scripts only.

Python scripts run by the script plugin do ``from cloudify import ctx`` (and
``from cloudify.state import ctx_parameters``); this package gives them a ``ctx`` backed by
the attempt's context file, the exceptions that say whether to retry, and pass-through
``@operation``/``@workflow`` decorators. It is put first on the scripts' ``PYTHONPATH`` and
never on the manager's.
"""

from cloudify.state import ctx, ctx_parameters

__all__ = ["ctx", "ctx_parameters"]
