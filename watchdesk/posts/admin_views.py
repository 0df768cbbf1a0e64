"""The post editor's live count of who publishing would e-mail (``posts/js/email_choice.js`` asks)."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from watchdesk.posts.audience import count_recipients, describe
from watchdesk.posts.models import StoryPost

MAX_TERMS = 200


def ids(request, name):
    values = [value for value in request.GET.getlist(name)[:MAX_TERMS] if value.isdigit()]
    return [int(value) for value in values]


@require_GET
def recipient_count(request):
    """``?post=<id>&topic=<id>...&region=<id>...&ticked=1&urgent=1`` -> the counts and the sentence."""
    post_id = request.GET.get("post", "")
    post = StoryPost.objects.filter(pk=post_id).first() if post_id.isdigit() else None
    if post is not None and not post.permissions_for_user(request.user).can_edit():
        post = None  # whether a post was e-mailed is for the people who may edit it
    urgent = request.GET.get("urgent") == "1"
    audience = count_recipients(post, ids(request, "topic"), ids(request, "region"), urgent=urgent)
    if audience is None:
        return JsonResponse({"available": False})
    return JsonResponse(
        {
            "available": True,
            "instant": audience.get("instant", 0),
            "digest": audience.get("digest", 0),
            "breaking": audience.get("breaking", 0),
            "sent": bool(audience.get("sent_at")),
            "text": describe(audience, ticked=request.GET.get("ticked") == "1"),
            "confirm": describe(audience, ticked=True),
        }
    )
