"""The bytes of an XML feed made readable before feedparser sees them, without ever turning silently into
mojibake.

* Encodings that are not ASCII-compatible (UTF-16, UTF-32, EBCDIC) are turned into UTF-8.
* A document labelled with a single-byte encoding whose bytes are valid UTF-8 is read as UTF-8.
* A document with bytes its encoding cannot decode keeps that encoding, and only the broken bytes are
  mended, entry by entry: in a UTF-8 feed, an entry with no valid UTF-8 beyond ASCII was written in
  windows-1252 and is read so; anywhere else each run of broken bytes becomes U+FFFD. ``Decoded`` says
  which entries were mended, and ``parsing`` names them in the feed's problem. Without this, feedparser
  would reread the whole document in another encoding and garble every entry.
* A "UTF-8" document with no valid UTF-8 beyond ASCII at all is in a single-byte encoding throughout;
  that is left to feedparser, which rereads it as windows-1252 and says so.
See docs/wire.md, "Bad input".
"""

import codecs
import re
from bisect import bisect_right
from dataclasses import dataclass, field

# Byte-order marks and the first bytes of "<?xml" in encodings that are not ASCII-compatible: such
# documents are turned into UTF-8 first, so the declaration scan below can see them.
_WIDE_ENCODINGS = [
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
]
# Declared encodings that real feeds often send while their bytes are UTF-8.
_SINGLE_BYTE_LABELS = {
    "ascii",
    "us-ascii",
    "latin-1",
    "latin1",
    "iso-8859-1",
    "iso8859-1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
}
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_TEXT_DECLARATION = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9._:-]+")
_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)[\s/>]")
# Undecodable bytes, as the "surrogateescape" error handler leaves them: U+DC80 to U+DCFF.
_BROKEN = re.compile("[\udc80-\udcff]+")
_BEYOND_ASCII = re.compile("[\x80-\ud7ff\ue000-\U0010ffff]")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass
class Decoded:
    content: bytes
    charset: str = ""  # what feedparser should read the bytes as ("" lets it decide)
    note: str = ""  # what was wrong with the encoding, for the feed's problem
    replaced: list[int] = field(default_factory=list)  # entries (by position) with bytes replaced
    reread: list[int] = field(default_factory=list)  # entries read as windows-1252 in a UTF-8 feed
    outside: int = 0  # broken runs outside every entry (the feed's title, description, ...)
    encoding: str = ""  # the encoding the document was read in, when it was mended


def decode_document(content, charset=""):
    """``Decoded`` for the raw bytes of an XML feed and the charset its HTTP response gave (or "")."""
    for marker, encoding in _WIDE_ENCODINGS:
        if content.startswith(marker):
            text = content.decode(encoding, errors="replace").lstrip("\ufeff")
            text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
            return Decoded(('<?xml version="1.0" encoding="utf-8"?>' + text).encode(), "utf-8")
    declared = charset or xml_encoding(content)
    if content.isascii():
        return Decoded(content, charset)
    if declared.lower() in _SINGLE_BYTE_LABELS:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return Decoded(content, "utf-8", f"the document says it is {declared} but it is UTF-8")
    try:
        encoding = codecs.lookup(declared or "utf-8").name
    except LookupError:
        return Decoded(content, charset)  # feedparser reports an encoding nobody knows
    try:
        content.decode(encoding)
    except UnicodeDecodeError:
        if encoding == "utf-8" and not _UTF8_MULTIBYTE.search(content):
            return Decoded(content, charset)  # single-byte throughout: feedparser rereads it and says so
        return _mend(content, encoding)
    return Decoded(content, charset)


def _mend(content, encoding):
    text = content.decode(encoding, errors="surrogateescape")
    starts = [match.start() for match in _ENTRY_START.finditer(text)]
    decoded = Decoded(b"", "utf-8", encoding=encoding)
    spans = {}  # entry index -> mended how ("reread" or "replaced")
    pieces, position = [], 0
    for broken in _BROKEN.finditer(text):
        index = bisect_right(starts, broken.start()) - 1
        pieces.append(text[position : broken.start()])
        position = broken.end()
        if index < 0:
            decoded.outside += 1
            pieces.append("\ufffd")
            continue
        if index not in spans:
            end = starts[index + 1] if index + 1 < len(starts) else len(text)
            entry = _BROKEN.sub("", text[starts[index] : end])
            spans[index] = "replaced" if encoding != "utf-8" or _BEYOND_ASCII.search(entry) else "reread"
        if spans[index] == "reread":
            raw = broken.group().encode(encoding, errors="surrogateescape")
            pieces.append(raw.decode("windows-1252", errors="replace"))
        else:
            pieces.append("\ufffd")
    pieces.append(text[position:])
    mended = _TEXT_DECLARATION.sub(r"\1utf-8", "".join(pieces), count=1)
    decoded.content = mended.encode("utf-8")
    decoded.replaced = sorted(index for index, how in spans.items() if how == "replaced")
    decoded.reread = sorted(index for index, how in spans.items() if how == "reread")
    return decoded


def charset_of(content_type):
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def xml_encoding(content):
    match = _XML_ENCODING.match(content[:500])
    return match.group(1).decode("ascii") if match else ""
