class PermissionsPolicyMiddleware:
    """Turn off browser features the site never uses, so injected content cannot ask for them."""

    header = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.header)
        return response


class PreviewFramingMiddleware:
    """Let the admin's preview panel frame a page preview: Wagtail renders it through the middleware
    as a dummy request for the page's public URL (``request.is_preview``), so the public policy, which
    forbids all framing, would otherwise apply. Must come after ``CSPMiddleware`` in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "is_preview", False):
            response._csp_replace = {**getattr(response, "_csp_replace", {}), "frame-ancestors": ["'self'"]}
            response["X-Frame-Options"] = "SAMEORIGIN"
        return response
