"""The demo's official alert feeds, in the shapes the real services publish: CAP alerts in Atom (as the
US National Weather Service does), a USGS-style GeoJSON earthquake feed, and an incident feed in RSS 2.0
with GeoRSS points. Their stories in wire.json carry an ``official`` object with what these formats hold
beyond a news story (docs/wire.md, "Official alert feeds" and "The demo wire").
"""

import json
from datetime import timedelta

from watchdesk.demo.feedwriter import XMLWriter, iso, rfc822

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_CAP = "urn:oasis:names:tc:emergency:cap:1.2"
NS_GEORSS = "http://www.georss.org/georss"


def _cap_atom(outlet, stories, clock):
    xml = XMLWriter(outlet.encoding)
    xml.open("feed", {"xmlns": NS_ATOM, "xmlns:cap": NS_CAP, "xml:lang": outlet.language})
    xml.leaf("id", outlet.feed_url)
    xml.leaf("generator", "NWS CAP Server")
    xml.leaf("updated", iso(clock))
    xml.open("author")
    xml.leaf("name", outlet.name)
    xml.close("author")
    xml.leaf("title", outlet.description)
    xml.leaf("link", attrs={"rel": "self", "href": outlet.feed_url})
    for story in stories:
        alert = story.official
        sent = story.published(clock)
        xml.open("entry")
        xml.leaf("id", story.guid or story.link)
        xml.leaf("updated", iso(sent))
        xml.leaf("published", iso(sent))
        xml.leaf("title", story.title)
        xml.leaf("link", attrs={"href": story.link})
        xml.leaf("summary", story.summary)
        xml.leaf("cap:event", alert["event"])
        xml.leaf("cap:status", alert.get("status", "Actual"))
        xml.leaf("cap:msgType", alert.get("msg_type", "Alert"))
        xml.leaf("cap:urgency", alert["urgency"])
        xml.leaf("cap:severity", alert["severity"])
        xml.leaf("cap:certainty", alert["certainty"])
        xml.leaf("cap:areaDesc", alert["area"])
        xml.leaf("cap:sent", iso(sent))
        xml.leaf("cap:effective", iso(sent))
        xml.leaf("cap:expires", iso(sent + timedelta(hours=alert["hours"])))
        xml.open("cap:geocode")
        for name in ("SAME", "UGC"):
            if alert.get(name):
                xml.leaf("valueName", name)
                xml.leaf("value", " ".join(alert[name]))
        xml.close("cap:geocode")
        xml.close("entry")
    xml.close("feed")
    return xml.content()


def _usgs_geojson(outlet, stories, clock):
    features = []
    for story in stories:
        quake = story.official
        milliseconds = int(story.published(clock).timestamp() * 1000)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "mag": quake["mag"],
                    "place": story.summary,
                    "time": milliseconds,
                    "updated": milliseconds,
                    "tz": None,
                    "url": story.link,
                    "felt": quake.get("felt"),
                    "alert": quake.get("alert"),
                    "status": "reviewed",
                    "tsunami": quake.get("tsunami", 0),
                    "net": "ex",
                    "code": story.id,
                    "magType": "ml",
                    "type": quake.get("type", "earthquake"),
                    "title": story.title,
                },
                "geometry": {"type": "Point", "coordinates": [quake["lon"], quake["lat"], quake["depth"]]},
                "id": story.guid or story.id,
            }
        )
    document = {
        "type": "FeatureCollection",
        "metadata": {
            "generated": int(clock.timestamp() * 1000),
            "url": outlet.feed_url,
            "title": outlet.name,
            "status": 200,
            "count": len(features),
        },
        "features": features,
    }
    return json.dumps(document, indent=1).encode(outlet.encoding)


def _georss(outlet, stories, clock):
    xml = XMLWriter(outlet.encoding)
    xml.open("rss", {"version": "2.0", "xmlns:georss": NS_GEORSS})
    xml.open("channel")
    xml.leaf("title", outlet.name)
    xml.leaf("link", outlet.site_url)
    xml.leaf("description", outlet.description)
    xml.leaf("language", outlet.language)
    xml.leaf("lastBuildDate", rfc822(clock))
    for story in stories:
        xml.open("item")
        xml.leaf("title", story.title)
        xml.leaf("link", story.link)
        xml.leaf("guid", story.link, {"isPermaLink": "true"})
        xml.leaf("pubDate", rfc822(story.published(clock)))
        xml.leaf("description", story.summary_html())
        point = story.official
        xml.leaf("georss:point", f"{point['lat']} {point['lon']}")
        xml.close("item")
    xml.close("channel")
    xml.close("rss")
    return xml.content()


# format -> (renderer, content type); wire.FORMATS includes these
FORMATS = {
    "cap-atom": (_cap_atom, "application/atom+xml"),
    "geojson": (_usgs_geojson, "application/geo+json"),
    "rss20-georss": (_georss, "application/rss+xml"),
}
