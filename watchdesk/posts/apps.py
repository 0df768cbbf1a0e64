from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "watchdesk.posts"
    label = "posts"
    verbose_name = "Posts"
