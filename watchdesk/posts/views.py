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

WORD = re.compile(r"\w+", re.UNICODE)
# PostgreSQL's web-search syntax reads these as operators, SQLite FTS5 as words; dropping them gives
# the same answer everywhere: every remaining word must match.
OPERATOR_WORDS = {"and", "or", "not", "near"}


@require_GET
def search(request):
    posts = StoryPost.objects.published()
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
    if results is not None:
        try:
            page_obj = paginate(request, results)
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
            "search_query_string": urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v]),
        },
    )
