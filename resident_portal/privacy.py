"""Masking personal data for staff lists (docs/domain.md: 王**, 138****1590)."""


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    # Always two stars: the mask should not tell how long the name is.
    return name[0] + "**"


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) <= 4:
        return "*" * len(phone)
    if len(phone) < 8:
        return "*" * (len(phone) - 4) + phone[-4:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
