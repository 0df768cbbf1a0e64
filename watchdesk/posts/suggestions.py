"""'Did you mean ...?': the words of the search index nearest to a query that found nothing.

The vocabulary is what readers search for: the names of the topics, places, tags, outlets and authors
of published posts and the words of their titles, read from the database on each miss.
"""

import re
from collections import Counter
from difflib import SequenceMatcher

from taggit.models import Tag

from watchdesk.posts.models import Author, StoryPostRegion
from watchdesk.taxonomy.models import Region, Topic

WORD = re.compile(r"[^\W\d_]{3,}")  # letters only, three or more: no numbers, no "of"
CUTOFF = 0.75  # difflib's ratio: "wildfrie" and "wildfire" score 0.875, "flood" and "blood" 0.8


def vocabulary(posts):
    """Each word of these posts' names and titles with how many use it, in five queries."""
    texts = [text for row in posts.values_list("title", "source_name") for text in row]
    texts += Topic.objects.filter(posts__in=posts).distinct().values_list("name", flat=True)
    regions = StoryPostRegion.objects.filter(page__in=posts).values("region")
    texts += Region.objects.filter(pk__in=regions).values_list("name", flat=True)
    texts += (
        Tag.objects.filter(posts_storyposttag_items__content_object__in=posts)
        .distinct()
        .values_list("name", flat=True)
    )
    texts += Author.objects.filter(post_links__page__in=posts).distinct().values_list("name", flat=True)
    return Counter(word.lower() for text in texts for word in WORD.findall(text))


def nearest(word, words, limit=3):
    """The known words closest to ``word`` (difflib's ratio), the more common first on a tie."""
    matcher = SequenceMatcher(b=word)
    scored = []
    for candidate, uses in words.items():
        # The ratio's bound from the lengths alone (real_quick_ratio) without setting up the matcher.
        if 2 * min(len(candidate), len(word)) < CUTOFF * (len(candidate) + len(word)):
            continue
        matcher.set_seq1(candidate)
        if matcher.quick_ratio() >= CUTOFF:
            score = matcher.ratio()
            if score >= CUTOFF:
                scored.append((-score, -uses, candidate))
    return [candidate for _, _, candidate in sorted(scored)[:limit]]


def suggest(terms, words, limit=3):
    """Queries like ``terms`` with each unknown word replaced by a near known one; [] if all are known
    (then the words are right but no post has all of them) or an unknown word has no near neighbour."""
    terms = [term.lower() for term in terms]
    if all(term in words for term in terms):
        return []
    options = [[term] if term in words else nearest(term, words, limit) for term in terms]
    if not all(options):
        return []
    queries = []
    for n in range(limit):
        query = " ".join(choices[min(n, len(choices) - 1)] for choices in options)
        if query not in queries:
            queries.append(query)
    return queries
