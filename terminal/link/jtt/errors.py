"""Platform-link room, JT/T codec: the only exceptions the codec raises.

Every failure of the decoder is one of these (a property test feeds it random bytes to
hold it to that); the stream decoder returns them as values instead of raising, so one
bad frame never stops a reader.
"""


class JttError(ValueError):
    """Base of every codec error."""


class FramingError(JttError):
    """Flags, escaping or size are wrong: the bytes are not one JT/T frame."""


class ChecksumError(FramingError):
    """The XOR check byte does not match the frame's content."""


class HeaderError(JttError):
    """The message header is too short or inconsistent with the body length."""


class BodyError(JttError):
    """The message body does not fit the layout of its message id."""


class EncodeError(JttError):
    """A JSON message cannot be encoded: missing field, value out of range, unknown key."""
