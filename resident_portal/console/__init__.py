"""The staff console (/console): one blueprint, its pages in modules by what they serve.

- sign_in.py: the password, the second factor and enrolment in it
- account.py: the staff member's account, recovery codes, API tokens, signing out everywhere
- register.py: the list of estates, an estate's dashboard, its households, register import
- codes.py: issuing and reissuing access codes
- held_codes.py: codes just issued, held for printing: their page, letters, ZIP
- posters.py: estate and stairwell posters, and the contact printed on letters and posters
- audit.py: the audit log and unusual sign-in failures
- planners.py: the overview across estates and the monthly report (月通报)

Routes only parse, authorise and render; changes happen in resident_portal/operations.py.
"""

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

# The pages, registered on bp as they are imported.
from . import (  # noqa: E402, F401, I001
    account,
    audit,
    codes,
    held_codes,
    planners,
    posters,
    register,
    sign_in,
)
