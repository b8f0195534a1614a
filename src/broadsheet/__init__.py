"""broadsheet: compose a weekly issue in YAML, localize it, render it as email, deliver it."""

__version__ = "0.1.0"
