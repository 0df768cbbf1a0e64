"""The posts app's models: story posts and their authors (``story``), and the pages that list them
(``listings``). Both modules are imported here so Django registers every model."""

from watchdesk.posts.models.listings import (
    ArchiveIndexPage,
    AuthorIndexPage,
    HomePage,
    IndexPage,
    ListingMixin,
    RegionIndexPage,
    TagIndexPage,
    TopicIndexPage,
)
from watchdesk.posts.models.story import (
    Author,
    StoryPost,
    StoryPostAuthor,
    StoryPostQuerySet,
    StoryPostRegion,
    StoryPostTag,
)

__all__ = [
    "ArchiveIndexPage",
    "Author",
    "AuthorIndexPage",
    "HomePage",
    "IndexPage",
    "ListingMixin",
    "RegionIndexPage",
    "StoryPost",
    "StoryPostAuthor",
    "StoryPostQuerySet",
    "StoryPostRegion",
    "StoryPostTag",
    "TagIndexPage",
    "TopicIndexPage",
]
