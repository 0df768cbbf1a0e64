"""Keeping the search index true when a name posts are found by changes: a topic, place or tag renamed.

A post's own saves index it (`StoryPost.save`); these handlers cover the rows it only points at.
"""

from functools import partial

from django.db import transaction
from django_tasks import task
from taggit.models import Tag
from wagtail.search.backends import get_search_backends
from wagtail.search.index import remove_object

from watchdesk.posts.models import StoryPost
from watchdesk.taxonomy.models import Region, Topic

CHUNK = 500


def posts_about(kind, pk):
    """The posts a topic, region (with the places inside it) or tag is indexed on."""
    posts = StoryPost.objects.all()
    if kind == "topic":
        return posts.filter(topics=pk)
    if kind == "region":
        region = Region.objects.filter(pk=pk).first()
        return posts.in_region(region) if region else posts.none()
    return posts.filter(tagged_items__tag=pk)


def reindex(posts):
    """Index these posts again in every search backend, a chunk at a time."""
    pks = list(posts.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), CHUNK):
        chunk = list(StoryPost.objects.filter(pk__in=pks[start : start + CHUNK]))
        for backend in get_search_backends(with_auto_update=True):
            backend.add_bulk(StoryPost, chunk)
    return len(pks)


@task()
def reindex_posts_about(kind, pk):
    return reindex(posts_about(kind, pk))


def term_saved(kind, sender, instance, created=False, raw=False, **kwargs):
    # A new term names no post yet; loading the gazetteer saves thousands of regions no post is filed under.
    if created or raw or not posts_about(kind, instance.pk).exists():
        return
    transaction.on_commit(partial(reindex_posts_about.enqueue, kind, instance.pk))


def post_deleted(sender, instance, **kwargs):
    remove_object(instance)


def connect(post_save, post_delete):
    for kind, model in [("topic", Topic), ("region", Region), ("tag", Tag)]:
        post_save.connect(
            partial(term_saved, kind), sender=model, weak=False, dispatch_uid=f"posts.index.{kind}"
        )
    # StoryPost opts out of Wagtail's automatic indexing (see its search_auto_update), deletion included.
    post_delete.connect(post_deleted, sender=StoryPost, dispatch_uid="posts.index.deleted")
