from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "watchdesk.posts"
    label = "posts"
    verbose_name = "Posts"
    # Editors correct the names of original authors; moderators may delete one.
    group_permissions = {
        "Editors": ["add_author", "change_author"],
        "Moderators": ["add_author", "change_author", "delete_author"],
    }

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from watchdesk.posts import search_index, signal_handlers
        from watchdesk.posts.signals import story_published

        search_index.connect(post_save, post_delete)
        story_published.connect(signal_handlers.post_published, dispatch_uid="posts.websub")
