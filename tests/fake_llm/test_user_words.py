"""How the auto brain reads a user's words, and what it asks when they are not enough.

Pure functions, checked against the shipped tools' own schemas (the same ones
the planner offers), so a schema change that the brain cannot read shows here.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from fake_llm.tool_args import ask_text, read_conversation, resolve
from fake_llm.user_words import (
    DateMention,
    Place,
    corrects,
    dates,
    emails,
    known_places,
    months,
    ordinal,
    pattern_matches,
    places,
    wants_cheapest,
)
from worker_llm.prompts import plan_tools

pytestmark = pytest.mark.fast


def test_places_come_from_the_tools_data_and_capitalised_words():
    assert {"Tokyo", "New York", "Cape Town"} <= set(known_places())
    assert places("Events in Tokyo in June?") == [Place("Tokyo")]
    assert places("actually tokyo") == [Place("Tokyo")]
    assert places("Sydney to New York") == [Place("Sydney", origin=True), Place("New York")]
    assert places("I'll fly from Lisbon") == [Place("Lisbon", origin=True)]
    assert places("A trip to Reykjavik in May") == [Place("Reykjavik")]
    assert places("Hi! I want to go in April") == []


def test_months_skip_may_the_verb():
    assert months("Events in Tokyo in June?") == ["June"]
    assert months("may I go in sept or in december") == ["December"]
    assert months("In May, or Oct") == ["May", "October"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("out on 2027-04-10 and back on 2027-04-14", [(2027, 4, 10, False), (2027, 4, 14, True)]),
        ("10 to 14 April", [(2030, 4, 10, False), (2030, 4, 14, True)]),
        ("April 10-14, 2028", [(2028, 4, 10, False), (2028, 4, 14, True)]),
        ("from the 3rd of May to 7 May", [(2030, 5, 3, False), (2030, 5, 7, True)]),
        ("returning June 2", [(2030, 6, 2, True)]),
        ("2027-02-30 is no date", []),
    ],
)
def test_dates_iso_natural_and_ranges(text: str, said: list[tuple[int, int, int, bool]]):
    assert dates(text, 2030) == [DateMention(date(y, m, d), back) for y, m, d, back in said]


def test_emails_ids_and_choices():
    assert emails("send it to kim.lee@example.com.") == ["kim.lee@example.com"]
    assert pattern_matches("my order is ord-48213.", r"^ORD-\d{5}$") == ["ORD-48213"]
    assert pattern_matches("E1042 or XE10423", r"^E\d{4}$") == ["E1042"]
    assert [ordinal(t) for t in ("the second one", "option 3", "the last", "any")] == [
        1,
        2,
        -1,
        None,
    ]
    assert wants_cheapest("the cheapest flight please") and not wants_cheapest("the fastest")
    assert corrects("Actually, Tokyo") and not corrects("Tokyo")


def _functions(goal: str) -> dict[str, dict[str, Any]]:
    return {t["function"]["name"]: t["function"] for t in plan_tools(goal)}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def test_missing_arguments_become_a_question_and_the_answer_fills_them():
    travel = _functions("travel")
    first = [_user("I'd like to go to Tokyo in June")]
    flights = resolve(travel["search_flights"], read_conversation(first, [*travel.values()]))
    assert flights.args == {"destination": "Tokyo"}
    question = ask_text(travel["search_flights"], flights)
    assert question == (
        "To search return flights between two cities for given dates, could you tell me "
        "where you're flying from, the departure date and the return date?"
    )
    answered = [*first, {"role": "assistant", "content": question}, _user("Sydney, 2 to 9 June")]
    again = resolve(travel["search_flights"], read_conversation(answered, [*travel.values()]))
    assert again.missing == []
    assert again.args == {
        "origin": "Sydney",
        "destination": "Tokyo",
        "date_depart": "2027-06-02",
        "date_return": "2027-06-09",
    }


def test_an_invoice_waits_for_the_user_to_choose_a_flight():
    travel = _functions("travel")
    offers = {"currency": "USD", "flights": [
        {"flight_id": "DA124", "airline": "Durable Air", "price": 899.0},
        {"flight_id": "SG724", "airline": "Signal Jet", "price": 799.0},
    ]}  # fmt: skip
    result = {"role": "user", "content": f"[result of search_flights: {json.dumps({'ok': True, 'output': offers})}]"}  # fmt: skip
    messages = [_user("Tokyo in June, from Sydney"), result, _user("send it to kim@example.com")]
    invoice = resolve(travel["create_invoice"], read_conversation(messages, [*travel.values()]))
    assert invoice.args == {"email": "kim@example.com"}
    assert [name for name, _ in invoice.missing] == ["flight_id"]  # its price comes with it
    assert "DA124: Durable Air, 899.0 USD" in ask_text(travel["create_invoice"], invoice)
    for choice, flight, price in (
        ("the cheapest", "SG724", 799.0),
        ("DA124 please", "DA124", 899.0),
    ):
        chosen = read_conversation([*messages, _user(choice)], [*travel.values()])
        args = resolve(travel["create_invoice"], chosen).args
        assert (args["flight_id"], args["amount"]) == (flight, price)


def test_the_order_lookup_asks_for_either_an_id_or_an_email():
    orders = _functions("order_tracking")
    nothing = resolve(orders["find_order"], read_conversation([_user("Where's my parcel?")], []))
    assert nothing.args == {}
    assert ask_text(orders["find_order"], nothing).endswith(
        "could you tell me your order number or the email address to use?"
    )


def test_leave_dates_pair_each_start_with_the_end_after_it():
    hr = _functions("hr_time_off")
    said = [_user("I'm e1042: sick leave from 10 to 14 April, and 3 to 7 May")]
    booking = resolve(hr["book_leave"], read_conversation(said, [*hr.values()]))
    assert booking.args == {
        "employee_id": "E1042",
        "start_date": "2027-04-10",
        "end_date": "2027-04-14",
        "kind": "sick",
    }
