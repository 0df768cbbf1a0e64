"""Canonical links: one spelling per article, so re-polls and other feeds' copies match exactly.

The canonical form of a link is what we store in ``Item.url`` and use as the GUID of an entry that has no
id of its own. Two spellings of one article (``HTTPS://Example.org:443/a?utm_source=x#top`` and
``https://example.org/a``) must come out the same, while links to different articles must stay apart, so
we only remove what never names the article: the default port, the fragment, credentials and the
tracking parameters below.
"""

import re
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

# Query parameters that track a reader or a campaign and never change which article a link names.
# Names are matched case-insensitively; every ``utm_*`` parameter is dropped as well.
TRACKING_PARAMETERS = frozenset(
    {
        # Google, Microsoft, Facebook, Twitter/X, TikTok, LinkedIn, Yandex click identifiers
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "fbclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "yclid",
        "igshid",
        "srsltid",
        "_ga",
        "_gl",
        # Mailchimp, HubSpot, Marketo, Vero, Oracle Eloqua and other mailing tools
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "vero_conv",
        "vero_id",
        "elqtrackid",
        "elqtrack",
        "wickedid",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        # Referral and campaign markers added by news sites and aggregators
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "cmp",
        "ncid",
        "sr_share",
        "smid",
        "at_medium",
        "at_campaign",
        "wt.mc_id",
        "ito",
    }
)
TRACKING_PREFIXES = ("utm_",)

DEFAULT_PORTS = {"http": 80, "https": 443}

# Characters left as they are in a path; everything else (spaces, quotes, non-ASCII) is percent-encoded
# so that the stored link is a valid URL. "%" stays so existing escapes are not encoded twice.
_PATH_SAFE = "/%:@!$&'()*+,;=~-._"
_QUERY_SAFE = _PATH_SAFE + "?"
_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


def is_tracking_parameter(name):
    name = name.lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def canonical_url(url, base=""):
    """Return the canonical http(s) form of ``url`` (resolved against ``base``), or "" when there is none.

    "" means the link cannot be stored: another scheme (``javascript:``, ``data:``, ``mailto:``, ``ftp:``),
    no host, a bad port, or something that is not a URL at all.
    """
    if not isinstance(url, str):
        return ""
    url = url.strip()
    if not url:
        return ""
    if base and isinstance(base, str):
        base = base.strip()
        if urlsplit(base).scheme.lower() in DEFAULT_PORTS:
            try:
                url = urljoin(base, url)
            except ValueError:
                return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range; a bracketed host that is not IPv6
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    else:
        host = _ascii_host(host)
        if not host:
            return ""
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def _ascii_host(host):
    """The host in ASCII (internationalised names as punycode), or "" when it cannot be a host name."""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return host if _HOST.fullmatch(host) else ""


def _clean_query(query):
    """Drop tracking parameters and sort the rest by name, keeping each pair spelled as it was.

    Pairs are kept raw (not decoded and re-encoded) so that a server that cares about ``+`` versus ``%20``
    still gets what the outlet linked to; the sort is stable, so repeated names keep their order.
    """
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote_plus(pair.partition("=")[0])
        if is_tracking_parameter(name):
            continue
        pairs.append((name, quote(pair, safe=_QUERY_SAFE)))
    pairs.sort(key=lambda named: named[0])
    return "&".join(raw for _, raw in pairs)
