"""The privacy notice, for anyone to read before they book."""

from __future__ import annotations

from fastapi import APIRouter

from medbook.errors import PROBLEM_RESPONSES
from medbook.privacy.notice import CURRENT_NOTICE_VERSION, NOTICE_TEXT
from medbook.privacy.schemas import PrivacyNoticeOut

router = APIRouter(prefix="/api/v1", tags=["privacy"], responses=PROBLEM_RESPONSES)


@router.get(
    "/privacy-notice",
    response_model=PrivacyNoticeOut,
    summary="The privacy notice patients agree to at checkout",
)
async def privacy_notice() -> PrivacyNoticeOut:
    return PrivacyNoticeOut(version=CURRENT_NOTICE_VERSION, text=NOTICE_TEXT)
