"""What the privacy API answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PrivacyNoticeOut(BaseModel):
    version: str = Field(
        description="Send privacy_consent: true at checkout to agree to this version.",
        examples=["2026-11"],
    )
    text: str = Field(
        description="The notice in plain text; paragraphs are separated by a blank line."
    )
