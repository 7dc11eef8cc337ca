"""Masking and what each role sees of personal data (docs/domain.md)."""

import pytest

from resident_portal.models import Role
from resident_portal.privacy import mask_name, mask_phone

from .conftest import household, make_estate, make_staff, sign_in_staff


@pytest.mark.parametrize(
    "name, masked", [("王小明", "王**"), ("李娟", "李**"), ("欧阳娜娜", "欧**"), ("", "")]
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone, masked",
    [("13800001590", "138****1590"), ("02188886666", "021****6666"), ("1234", "****"), (None, "")],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_planner_sees_register_masked_and_cannot_open_contacts(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    page = client.get("/console/meiyuan/households").get_data(as_text=True)
    assert "王**" in page and "138****1590" in page
    assert "王小明" not in page and "13800001590" not in page
    h = household(estate, "1", "1", "101")
    assert client.get(f"/console/meiyuan/households/{h.id}").status_code == 403


def test_secretary_opens_one_household_in_full(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    h = household(estate, "1", "1", "101")
    page = client.get(f"/console/meiyuan/households/{h.id}").get_data(as_text=True)
    assert "王小明" in page and "13800001590" in page
