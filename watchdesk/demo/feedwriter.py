"""Writing the demo feeds: XML through XMLGenerator, and dates in the forms feeds expect."""

import io
from email.utils import format_datetime
from xml.sax.saxutils import XMLGenerator


# Dates in the forms each format expects.
def rfc822(moment):
    return format_datetime(moment, usegmt=True)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class XMLWriter:
    """A thin layer over XMLGenerator, which escapes text and attributes and encodes the output
    (characters the encoding lacks become character references)."""

    def __init__(self, encoding):
        self.buffer = io.BytesIO()
        self.generator = XMLGenerator(self.buffer, encoding=encoding, short_empty_elements=True)
        self.generator.startDocument()

    def newline(self):
        self.generator.ignorableWhitespace("\n")

    def open(self, name, attrs=None):
        self.generator.startElement(name, attrs or {})
        self.newline()

    def close(self, name):
        self.generator.endElement(name)
        self.newline()

    def leaf(self, name, text="", attrs=None):
        self.generator.startElement(name, attrs or {})
        if text:
            self.generator.characters(text)
        self.generator.endElement(name)
        self.newline()

    def content(self):
        self.generator.endDocument()
        return self.buffer.getvalue()
