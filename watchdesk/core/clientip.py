"""The client's address, for login lockouts (django-axes) and the subscribe forms' rate limits alike.

With ``PROXY_COUNT=0`` (the default) it is ``REMOTE_ADDR``: nothing a client sends can change it. Behind N
reverse proxies it is the address the outermost proxy saw, the N-th entry from the end of
``X-Forwarded-For``; entries further left were written by the client and are ignored.
"""

from django.conf import settings


def client_ip(request):
    proxies = settings.AXES_IPWARE_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")
