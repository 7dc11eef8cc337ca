"""Money is integer fen (分) everywhere; yuan appear only at the edges, as text."""

from decimal import Decimal, InvalidOperation

MAX_FEN = 10**13  # ¥100 billion: anything larger is a typing mistake


def parse_yuan(text: str) -> int:
    """'1,234.5' -> 123450 fen. Raises ValueError for anything that is not a plain amount with
    at most two decimals."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    # Too large is refused before quantize(), which raises InvalidOperation beyond 28 digits
    # (compared, not multiplied: 1e999999 * 100 would overflow).
    if not amount.is_finite() or amount < 0 or amount > Decimal(MAX_FEN) / 100:
        raise ValueError(text)
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(text)
    return int(amount * 100)


def format_fen(fen: int | None) -> str:
    """123450 -> '1,234.50' (yuan, two decimals, thousands separated)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{cents:02d}"
