"""What happened in an estate: the audit log and unusual numbers of failed sign-ins."""

from flask import current_app, g, render_template
from sqlalchemy import select

from ..access import Permission, require
from ..extensions import db
from ..models import AuditEntry, RoleGrant, StaffUser
from ..ratelimit import sign_in_limiter
from . import bp


@bp.get("/<estate_code>/audit")
@require(Permission.AUDIT_VIEW)
def audit(estate_code):
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.estate_id == g.estate.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(200)
    )
    return render_template("console/audit.html", estate=g.estate, entries=list(entries))


@bp.get("/<estate_code>/sign-in-failures")
@require(Permission.AUDIT_VIEW)
def sign_in_failures(estate_code):
    """Households and staff accounts of the estate with unusually many failed sign-ins over
    about the last day, and the estate's ceiling (ratelimit.py; counted in the limits storage,
    so nothing is written to the database on a failure)."""
    estate = g.estate
    limiter = sign_in_limiter()
    unusual = current_app.config["SIGN_IN_FAILURES_UNUSUAL"]
    households = {
        f"household:{h.id}": h
        for building in estate.sorted_buildings
        for unit in building.sorted_units
        for h in unit.sorted_households
    }
    staff = {
        f"staff:{user.username.lower()}": user
        for user in db.session.scalars(
            select(StaffUser)
            .join(RoleGrant)
            .where(RoleGrant.estate_id == estate.id)
            .distinct()
            .order_by(StaffUser.username)
        )
    }
    counts = limiter.recent_failures([*households, *staff])

    def rows(accounts):
        found = [(n, a) for a, n in counts.items() if a in accounts and n >= unusual]
        return [(accounts[a], n) for n, a in sorted(found, key=lambda row: -row[0])]

    load, ceiling = limiter.scope_load(f"estate:{estate.id}")
    return render_template(
        "console/sign_in_failures.html",
        estate=estate,
        households=rows(households),
        staff=rows(staff),
        unusual=unusual,
        load=load,
        ceiling=ceiling,
    )
