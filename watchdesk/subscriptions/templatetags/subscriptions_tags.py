from django import template

register = template.Library()


@register.inclusion_tag("subscriptions/stay_informed.html", takes_context=True)
def stay_informed(context):
    """The Stay Informed box at the foot of every public page. It runs no query: the subscribe view fills
    in the scope (everything) and the site's default cadence."""
    return {"csrf_token": context.get("csrf_token")}
