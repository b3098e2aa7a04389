"""What every API model shares: the strict base model and the text rules of its fields."""

from datetime import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


class StrictModel(BaseModel):
    # Unknown fields are an error, not silently dropped: a typo should not book the wrong thing.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# The input boundary (medbook.boundary) already refuses NUL, other control characters and lone
# surrogates anywhere; a field that is one line (a name, an e-mail address, a short reason)
# refuses tab and line breaks too. Written as patterns, so the API document says so as well.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1F\x7F-\x9F]*$"
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
SingleLine = Annotated[str, Field(pattern=SINGLE_LINE_PATTERN)]
MultiLine = Annotated[str, Field(pattern=MULTI_LINE_PATTERN)]

# A wall-clock time without an offset ("09:00", "09:00:00"): JSON Schema's "time" format is
# RFC 3339's full-time, which needs one, so the document gives a pattern instead.
WALL_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
WallClockTime = Annotated[
    time,
    WithJsonSchema({"type": "string", "pattern": WALL_CLOCK_PATTERN, "examples": ["09:00"]}),
]
