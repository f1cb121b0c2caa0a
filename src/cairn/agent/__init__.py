"""The site agent: a process at a site that pulls the site's operations and runs them.

See :mod:`cairn.agent.runner`; ``cairn agent`` (or ``python -m cairn.agent run``) starts it.
"""
