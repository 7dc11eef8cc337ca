"""Shared basics, in one place: the translation marker, China time, money and area as text, and
the refused change. Pure: no Flask, no database.

Money is integer fen (分) everywhere; yuan appear only at the edges, as text. Areas are integer
0.01 m². Times are stored as naive UTC; without a zone, a typed time is China Standard Time.
"""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

# --- translation ---------------------------------------------------------------------------


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


# --- the refused change --------------------------------------------------------------------


class OperationError(Exception):
    """A refused change; `message` is an untranslated msgid with %(name)s fields."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


# --- China time ----------------------------------------------------------------------------

CHINA = ZoneInfo("Asia/Shanghai")


def to_utc(moment: datetime) -> datetime:
    """A moment (China Standard Time when it has no zone) as naive UTC, as stored."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(UTC).replace(tzinfo=None)


def in_china(moment: datetime) -> datetime:
    """A stored naive UTC moment in China Standard Time (aware)."""
    return moment.replace(tzinfo=UTC).astimezone(CHINA)


# --- money and area ------------------------------------------------------------------------

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


def plain_yuan(fen: int) -> str:
    """123450 -> '1234.50': for form fields and exports, without thousands separators."""
    return format_fen(fen).replace(",", "")


def yuan(fen: int) -> Decimal:
    """Fen as an exact yuan number with two decimals (Decimal("502.50")): a spreadsheet's
    numeric cell, or "502.50" as text."""
    return Decimal(fen).scaleb(-2)


def area_m2(centi_m2: int) -> Decimal:
    """0.01 m² units as an exact m² number with two decimals, as yuan() for money."""
    return Decimal(centi_m2).scaleb(-2)


def format_area(centi_m2: int) -> str:
    """0.01 m² units as the usual two-decimal string ("1234.56"), exactly."""
    return str((Decimal(centi_m2) / 100).quantize(Decimal("0.01")))


# --- percentages ---------------------------------------------------------------------------
# Every percentage a page, print, export or API shows comes from here, so that the same
# figure reads the same everywhere: the exact ratio of two integers, rounded half-up (half away
# from zero) to PERCENT_PLACES decimals. Two decimals, as cities publish notices: one decimal
# would print 66.7 % for a 66.66 % that does not reach two thirds. Decisions themselves are
# made in integers (survey/tally.py), never from these figures.

PERCENT_PLACES = 2


def percent_points(part: int, whole: int, places: int = PERCENT_PLACES) -> int:
    """part/whole in units of 10**-places percent, rounded half-up: (2, 3) -> 6667."""
    if not whole:
        return 0
    sign = -1 if (part < 0) != (whole < 0) else 1
    quotient, remainder = divmod(abs(part) * 100 * 10**places, abs(whole))
    if 2 * remainder >= abs(whole):
        quotient += 1
    return sign * quotient


def percent(part: int, whole: int, places: int = PERCENT_PLACES) -> Decimal:
    """part/whole in %, exactly as shown: (2, 3) -> Decimal("66.67"); 0 when whole is 0."""
    return Decimal(percent_points(part, whole, places)).scaleb(-places)


def format_percent(part: int, whole: int, places: int = PERCENT_PLACES) -> str:
    """part/whole in % as text, without the sign: (2, 3) -> "66.67"."""
    return f"{percent(part, whole, places):.{places}f}"


def format_points(points: int, places: int = PERCENT_PLACES) -> str:
    """A percentage kept as percent_points() (trend series), as format_percent prints it."""
    return f"{Decimal(points).scaleb(-places):.{places}f}"


# --- amounts in Chinese capital numerals (大写) ---------------------------------------------

CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_SECTION_UNITS = ("", "万", "亿", "万亿")
MAX_CAPITAL_FEN = 10**18 - 1  # below 万万亿 yuan: the sections above are not written


def capital_yuan(fen: int) -> str:
    """An amount in fen in Chinese capital numerals, as on a cheque or a receipt (大写金额):
    120000 -> '壹仟贰佰元整', 100050 -> '壹仟元伍角', 100005 -> '壹仟元零伍分', 50 -> '伍角'.

    The rules of the People's Bank's 《正确填写票据和结算凭证的基本规定》: one 零 for a run of
    zeros inside the yuan; 整 after 元 when there are no 角 or 分; 零 after 元 when 角 is zero
    and 分 is not; an amount under one yuan is written with 角 and 分 alone.
    """
    if isinstance(fen, bool) or not isinstance(fen, int) or not (0 <= fen <= MAX_CAPITAL_FEN):
        raise ValueError(fen)
    yuan, rest = divmod(fen, 100)
    jiao, cent = divmod(rest, 10)
    if fen == 0:
        return "零元整"
    words = _capital_integer(yuan) + "元" if yuan else ""
    if not rest:
        return words + "整"
    if jiao:
        words += CAPITAL_DIGITS[jiao] + "角"
    elif yuan:
        words += "零"  # 元 then 零 then the 分: the 角 place is empty
    if cent:
        words += CAPITAL_DIGITS[cent] + "分"
    return words


def _capital_integer(number: int) -> str:
    digits = str(number)
    words: list[str] = []
    zero_pending = False  # zeros seen since the last written digit
    section_has_digit = False
    for index, char in enumerate(digits):
        place = len(digits) - 1 - index
        digit = int(char)
        if digit == 0:
            zero_pending = True
        else:
            if zero_pending and words:
                words.append("零")
            zero_pending = False
            words.append(CAPITAL_DIGITS[digit] + _SMALL_UNITS[place % 4])
            section_has_digit = True
        if place % 4 == 0 and place:
            if section_has_digit:
                words.append(_SECTION_UNITS[place // 4])
            section_has_digit = False
    return "".join(words)
