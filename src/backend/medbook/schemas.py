"""What every API model shares: the strict base model and the text rules of its fields."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


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
