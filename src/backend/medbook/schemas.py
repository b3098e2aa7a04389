"""What every API model shares: the strict base model and the text rules of its fields."""

from datetime import date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema


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

# Dates and instants live well inside these years: near the ends of what `datetime` can hold,
# timezone and day-either-side arithmetic overflows, which must be a 422, never a 500. An
# instant's own date (in its own offset) is what counts, as the document's pattern says.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)
YEARS_PATTERN = r"^2[0-9]{3}-"


def _within_years(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


def _instant_within_years(value: datetime) -> datetime:
    _within_years(value.date())
    return value


Day = Annotated[
    date, AfterValidator(_within_years), Field(json_schema_extra={"pattern": YEARS_PATTERN})
]
Instant = Annotated[
    AwareDatetime,
    AfterValidator(_instant_within_years),
    Field(json_schema_extra={"pattern": YEARS_PATTERN}),
]
