"""Canonical byte form of plain data, the basis of every digest the meter issues.

Dicts with string keys (sorted by code point), lists, strings, integers, booleans and
None; no floats, so the bytes are the same on CPython and MicroPython. The form is
JSON-compatible: sorted keys, no white space, UTF-8, only quote, backslash and control
characters escaped.
"""

import binascii
import hashlib


def _string(s, out):
    out.append('"')
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')


def _value(v, out):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, str):
        _string(v, out)
    elif isinstance(v, (list, tuple)):
        out.append("[")
        first = True
        for item in v:
            if not first:
                out.append(",")
            first = False
            _value(item, out)
        out.append("]")
    elif isinstance(v, dict):
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
    else:
        raise TypeError("canonical form: unsupported type " + type(v).__name__)


def encode(value):
    """The canonical bytes of ``value``."""
    out = []
    _value(value, out)
    return "".join(out).encode("utf-8")


def digest(value):
    """SHA-256 of the canonical bytes, as 64 lower-case hex characters."""
    return binascii.hexlify(hashlib.sha256(encode(value)).digest()).decode()
