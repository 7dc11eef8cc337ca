"""The ballot page and the vote after the performance work of issue 15: the radio inputs the
page writes itself are what WTForms would write, the cached ballot form class follows edits,
and the one-query roll lookup finds every flat of an owner."""

from flask_wtf.csrf import generate_csrf

from resident_portal.extensions import db
from survey.forms import ballot_form
from survey.models import Matter, Survey, SurveyItem

from .conftest import household, make_estate, make_survey, resident


def wtforms_choices(app, survey, data: dict) -> list[str]:
    """The choice labels as WTForms' own widgets render them, with `data` chosen."""
    with app.test_request_context():
        generate_csrf()
        form = ballot_form(survey, "zh_Hans_CN")
        blocks = []
        for item, field in form.item_fields:
            field.data = data.get(item.id)
            blocks.append(
                "".join(
                    f'<label class="choice {o.data}">{o()} <span>{o.label.text}</span></label>'
                    for o in field
                )
            )
        return blocks


def test_the_radio_inputs_are_what_wtforms_writes(app):
    estate = make_estate()
    survey = make_survey(estate)
    client, _h = resident(app, estate, "1", "1", "201")
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    for block in wtforms_choices(app, survey, {}):
        assert block in page
    choices = ["support", "oppose", "abstain"]
    data = {f"item_{item.id}": c for item, c in zip(survey.items, choices, strict=True)}
    assert client.post(f"/surveys/{survey.id}", data=data).status_code == 302
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    chosen = {item.id: c for item, c in zip(survey.items, choices, strict=True)}
    for block in wtforms_choices(app, survey, chosen):
        assert block in page
    assert page.count(" checked ") == len(choices)


def test_the_cached_form_class_follows_an_edited_title(app):
    estate = make_estate()
    survey = make_survey(estate)
    item = survey.items[0]
    with app.test_request_context():
        before = ballot_form(survey, "zh_Hans_CN")[f"item_{item.id}"].label.text
    db.session.get(SurveyItem, item.id).title = "楼顶防水（改）"
    db.session.commit()
    with app.test_request_context():
        after = ballot_form(survey, "zh_Hans_CN")[f"item_{item.id}"].label.text
    assert before != after == "楼顶防水（改）"


def test_the_cached_fragments_follow_an_edited_item_and_rule(app):
    """The ballot page draws the rule and the items' headings once per content and language:
    a changed description, cost or matter shows on the next page."""
    estate = make_estate()
    survey = make_survey(estate, matter="renovate")
    client, _h = resident(app, estate, "1", "1", "201")
    with app.test_request_context():
        renovate, committee = str(Matter.RENOVATE.label), str(Matter.COMMITTEE.label)
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert renovate in page and committee not in page
    assert "整幢更换防水层" not in page and "123,456" not in page
    item = db.session.get(SurveyItem, survey.items[0].id)
    item.description, item.estimated_cost_fen = "整幢更换防水层", 123_456_00
    db.session.get(Survey, survey.id).matter = Matter.COMMITTEE
    db.session.commit()
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert committee in page and renovate not in page
    assert "整幢更换防水层" in page and "123,456" in page


def test_the_page_names_every_flat_the_ballot_counts_for(app):
    estate = make_estate()
    survey = make_survey(estate)  # estate-wide: A3 holds 1-1-301 and 1-2-101
    client, h = resident(app, estate, "1", "1", "301")
    other = household(estate, "1", "2", "101")
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert h.address in page and other.address in page
    single, h1 = resident(app, estate, "1", "1", "201")
    page = single.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert h1.address in page and other.address not in page
