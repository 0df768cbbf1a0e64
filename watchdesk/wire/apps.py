from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_delete


class WireConfig(AppConfig):
    name = "watchdesk.wire"
    label = "wire"
    verbose_name = "Wire"
    # Both groups work the inbox ("change cluster") and look after sources; only moderators delete a
    # source, and with it the items it brought.
    group_permissions = {
        "Editors": ["change_cluster", "view_source", "add_source", "change_source"],
        "Moderators": ["change_cluster", "view_source", "add_source", "change_source", "delete_source"],
    }

    def ready(self):
        from watchdesk.taxonomy.models import Region
        from watchdesk.wire import signal_handlers

        # A region saved or deleted in this process: the compiled gazetteer is out of date at once.
        for signal, uid in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(signal_handlers.region_changed, sender=Region, dispatch_uid=f"wire.region_{uid}")
        # A source removed or paused unsubscribes from its WebSub hub.
        source = self.get_model("Source")
        post_save.connect(signal_handlers.source_saved, sender=source, dispatch_uid="wire.source_saved")
        pre_delete.connect(signal_handlers.source_deleting, sender=source, dispatch_uid="wire.source_deleted")
