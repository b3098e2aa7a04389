"""What every API model shares."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    # Unknown fields are an error, not silently dropped: a typo should not book the wrong thing.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
