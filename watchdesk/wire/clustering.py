"""PLACEHOLDER: replaced by the clustering work."""


def assign_clusters(items, *, now=None):
    pass
