import re
from datetime import datetime
from urllib.parse import urlencode

from django.db import DatabaseError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from watchdesk.posts.forms import SearchForm
from watchdesk.posts.models import StoryPost
from watchdesk.posts.models.listings import paginate, regions_with_posts
from watchdesk.posts.suggestions import suggest, vocabulary

WORD = re.compile(r"\w+", re.UNICODE)
# PostgreSQL's web-search syntax reads these as operators, SQLite FTS5 as words; dropping them gives
# the same answer everywhere: every remaining word must match.
OPERATOR_WORDS = {"and", "or", "not", "near"}


@require_GET
def search(request):
    posts = published = StoryPost.objects.published()
    years = [d.year for d in posts.dates("first_published_at", "year", order="DESC")]
    form = SearchForm(request.GET or None, years=years, regions=regions_with_posts())
    data = form.cleaned_or_empty()
    query = data["q"]
    terms = [word for word in WORD.findall(query) if word.lower() not in OPERATOR_WORDS][:12]

    if data["topic"]:
        posts = posts.filter(pk__in=StoryPost.objects.in_topic(data["topic"]).values("pk"))
    if data["region"]:
        posts = posts.filter(pk__in=StoryPost.objects.in_region(data["region"]).values("pk"))
    if data["year"]:
        tz = timezone.get_current_timezone()
        posts = posts.filter(
            first_published_at__gte=datetime(data["year"], 1, 1, tzinfo=tz),
            first_published_at__lt=datetime(data["year"] + 1, 1, 1, tzinfo=tz),
        )
    filtered = any(data[name] for name in ("topic", "region", "year"))

    results = None
    if terms:
        # Search the words only: quotes, operators and punctuation in the box mean nothing here.
        results = posts.search(" ".join(terms), operator="and")
    elif filtered:
        results = posts.latest_first()

    page_obj = None
    suggestions = []
    if results is not None:
        try:
            page_obj = paginate(request, results)
            if terms and not page_obj.paginator.count:
                words = vocabulary(published)
                for word in OPERATOR_WORDS:
                    words.pop(word, None)  # never suggest a word the search would drop
                suggestions = [
                    {"query": query, "query_string": urlencode(query_params(request, q=query))}
                    for query in suggest(terms, words)
                    if posts.search(query, operator="and").count()
                ]
        except DatabaseError:
            # The search index is missing or mid-rebuild: show "no results", not an error page.
            page_obj = None

    return TemplateResponse(
        request,
        "posts/search.html",
        {
            "form": form,
            "query": query,
            "terms": terms,
            "page_obj": page_obj,
            "posts": page_obj.object_list if page_obj else [],
            "searched": results is not None,
            "suggestions": suggestions,
            "search_query_string": urlencode(query_params(request)),
        },
    )


def query_params(request, **changes):
    """This search's parameters without the page number, with ``changes``."""
    params = {name: value for name, value in request.GET.items() if name != "page" and value}
    return [(name, value) for name, value in {**params, **changes}.items() if value]
