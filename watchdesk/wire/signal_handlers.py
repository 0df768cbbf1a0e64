"""Signal handlers of the wire, connected in apps.py."""

from watchdesk.wire import places


def region_changed(**kwargs):
    places.forget_geotagger()
