"""The neutral core: statuses, errors, value objects, runs, retries, paging and streams.

It imports no provider code; providers plug in through :mod:`.seam`.
"""
