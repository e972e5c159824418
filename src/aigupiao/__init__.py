"""aigupiao: automated A-share trading, cloud agent + local execution node."""

__version__ = "0.1.0"
