"""Canonical byte form of plain data, the basis of every digest the meter issues.

Dicts with string keys (sorted by code point), lists, strings, integers, booleans and
None; no floats, so the bytes are the same on CPython and MicroPython. The form is
JSON-compatible: sorted keys, no white space, UTF-8, only quote, backslash and control
characters escaped.
"""

import binascii
import hashlib

_ENCODED = {}         # string -> its quoted form, for the short strings that repeat (keys, states)
_ENCODED_MAX = 512    # entries kept; the table is emptied when full (a snapshot has about 60 strings)


def _quote(s):
    parts = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            parts.append('\\"')
        elif ch == "\\":
            parts.append("\\\\")
        elif o < 0x20:
            parts.append("\\u%04x" % o)
        else:
            parts.append(ch)
    parts.append('"')
    return "".join(parts)


def _string(s, out):
    # The same bytes as quoting character by character; a string seen before is looked up
    # (the snapshot signed every few seconds repeats its member names and most values).
    quoted = _ENCODED.get(s)
    if quoted is None:
        quoted = _quote(s)
        if len(s) <= 64:
            if len(_ENCODED) >= _ENCODED_MAX:
                _ENCODED.clear()
            _ENCODED[s] = quoted
    out.append(quoted)


def _value(v, out):
    t = type(v)
    if t is str:
        _string(v, out)
    elif t is int:
        out.append(str(v))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif t is dict:
        _dict(v, out)
    elif t is list or t is tuple:
        _list(v, out)
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, str):
        _string(v, out)
    elif isinstance(v, (list, tuple)):
        _list(v, out)
    elif isinstance(v, dict):
        _dict(v, out)
    else:
        raise TypeError("canonical form: unsupported type " + type(v).__name__)


def _list(v, out):
    out.append("[")
    first = True
    for item in v:
        if not first:
            out.append(",")
        first = False
        _value(item, out)
    out.append("]")


def _dict(v, out):
    out.append("{")
    first = True
    for key in sorted(v):
        if not isinstance(key, str):
            raise TypeError("canonical form: dict keys must be strings, got " + repr(key))
        if not first:
            out.append(",")
        first = False
        _string(key, out)
        out.append(":")
        _value(v[key], out)
    out.append("}")


def encode(value):
    """The canonical bytes of ``value``."""
    out = []
    _value(value, out)
    return "".join(out).encode("utf-8")


def digest(value):
    """SHA-256 of the canonical bytes, as 64 lower-case hex characters."""
    return binascii.hexlify(hashlib.sha256(encode(value)).digest()).decode()
