"""Residents' pages of the ground package, registered on resident_portal.blueprint.bp:

- landing.py: the start page, the estate landing page, building and stairwell pickers, QR codes
- household.py: sign-in, the household home, devices, signing out, display preferences
"""
