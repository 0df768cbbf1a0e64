BATCH = 500  # rows per IN (...) list or per write: well inside every database's parameter limit


def chunks(values, size=BATCH):
    """``values`` (a sequence) in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
