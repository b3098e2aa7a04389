"""The privacy notice (PDPA) and each patient's consent to it."""
