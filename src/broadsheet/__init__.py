"""broadsheet: compose a weekly issue in YAML, localize it, render it as email, deliver it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("broadsheet")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
