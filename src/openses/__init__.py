"""openses: a self-hosted email platform that speaks Amazon SES's wire protocols.

Layers (imports only go downward): cli/web → api → core → delivery/inbound → protocol → store →
config/errors. See ARCHITECTURE.md in the shared design notes.
"""

__version__ = "0.1.0"
