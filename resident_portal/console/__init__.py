"""The staff console: sign-in, estates, register import, access codes, posters, audit log."""

from .codes import bp  # noqa: F401
