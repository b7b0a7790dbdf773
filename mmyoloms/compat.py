"""Placeholder, replaced below."""


def apply():
    pass
