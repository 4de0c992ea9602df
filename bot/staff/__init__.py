"""Staff of the service centre: accounts and roles, console sessions, the audit log.

Free of any web framework: the console (``console/``) and the CLI use these services.
"""
