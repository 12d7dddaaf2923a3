"""The lab: the Ameide workspace platform (Coder, Kubernetes, Keycloak, git) on loopback.

See README.md for its contract; `python -m lab` runs it.
"""
