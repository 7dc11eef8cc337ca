"""The approximate device of a sign-in, from its user agent: "iPhone · WeChat", "Android ·
Chrome". Enough for a household to recognise its own phones in the list of signed-in devices,
and no more: the whole user agent is never stored. Pure: no Flask, no database.
"""

from functools import lru_cache

from ua_parser import parse

LABEL_LENGTH = 100  # models.AuthSession.device
# Families ua-parser names after a brand or a generic placeholder: the system says more.
GENERIC_DEVICES = {"", "Other", "Generic Smartphone", "Generic Tablet", "Generic Feature Phone"}
NAMED_DEVICES = {"iPhone", "iPad", "iPod"}
# What people call the browser, without the words ua-parser adds.
BROWSER_NAMES = {
    "WeChat Browser": "WeChat",
    "WeChat": "WeChat",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "QQ Browser Mobile": "QQ Browser",
    "UC Browser": "UC Browser",
}
SYSTEM_NAMES = {"Mac OS X": "Mac", "Windows": "Windows", "iOS": "iPhone"}


@lru_cache(maxsize=512)
def device_label(user_agent: str | None) -> str:
    """ "System or device · browser", or "" when nothing is recognised."""
    # Capped before parsing: a user agent of megabytes would only cost time.
    result = parse((user_agent or "")[:512])
    device = result.device.family if result.device else ""
    system = result.os.family if result.os else ""
    browser = result.user_agent.family if result.user_agent else ""
    if device in NAMED_DEVICES:
        where = device
    elif system and system != "Other":
        where = SYSTEM_NAMES.get(system, system)
    elif device not in GENERIC_DEVICES:
        where = device
    else:
        where = ""
    browser = "" if browser == "Other" else BROWSER_NAMES.get(browser, browser)
    if "MicroMessenger/" in (user_agent or "")[:512]:
        browser = "WeChat"  # on Android ua-parser sees only the WebView WeChat runs in
    label = " · ".join(part for part in (where, browser) if part)
    return label[:LABEL_LENGTH]
