"""The privacy notice patients agree to before booking online. Pure: text and its version.

A new version is a new constant: patients who agreed to an older one are asked again at their
next checkout, and the consents table keeps who agreed to which.
"""

from __future__ import annotations

CURRENT_NOTICE_VERSION = "2026-11"

NOTICE_TEXT = """\
How Medical Inc. uses your personal data

What we collect. Your name, phone number and email address; your NRIC or FIN, which Singpass \
gives us when you sign in (we keep it encrypted and show it only masked, such as S****567A); \
your appointments, and the reason for your visit if you tell us; and the status of your \
payments. We never see or keep your card number: you type it into our payment provider's form.

Why. To book, confirm, change and remind you of your appointments, to know who you are when you \
arrive, to prepare for your visit, to take payments and refunds, and to keep the records that \
Singapore law requires of a clinic.

Who sees it. The doctors, therapists and front-desk staff of our clinics who look after you, \
and only as much as their work needs. Our payment provider (Stripe) handles card payments. We \
do not sell your data or share it for marketing. Every staff search for a patient is recorded.

How long we keep it. As long as we need it to care for you and as long as the law requires \
for medical records, then we delete it securely.

Your rights. You may ask to see the personal data we hold about you, ask how it has been used, \
and ask us to correct it. You can correct your contact details yourself in your account. You \
may also withdraw your consent, though we may then be unable to book appointments for you online.

Questions and requests. Write to our Data Protection Officer at privacy@medicalinc.sg. We \
answer within 30 days.
"""
