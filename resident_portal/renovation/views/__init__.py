"""Renovation views by audience: public.py (the notice board), console.py (staff), api.py."""
