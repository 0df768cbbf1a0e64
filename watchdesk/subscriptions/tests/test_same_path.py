"""The subscribe, resend and leave requests take one path whatever the address: the same statements on the
same tables, the same answer. What differs by state happens in the worker, tested here per state too.

The five states are the people of test_public: ``new``, ``pending``, ``confirmed``, ``gone``
(unsubscribed) and ``bounced`` (confirmed, then suppressed).
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from watchdesk.delivery.models import Delivery
from watchdesk.subscriptions import address_requests
from watchdesk.subscriptions.models import Subscriber, Suppression
from watchdesk.subscriptions.tests.test_public import FORMS, kinds, people  # noqa: F401  a fixture

pytestmark = pytest.mark.django_db

_literals = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_tables = re.compile(r'\b(?:FROM|INTO|UPDATE|JOIN)\s+"?(\w+)"?', re.I)


def statement(sql):
    """(kind, tables, text without its values): what a statement does, whatever the address."""
    return sql.split(None, 1)[0].upper(), tuple(_tables.findall(sql)), _literals.sub("?", sql)


def submission(url, email):
    if url == "/subscribe/":
        return {"email": email, "name": "Someone", "scope": "everything", "cadence": "daily"}
    return {"email": email}


@pytest.mark.parametrize("url", FORMS)
def test_every_state_runs_the_same_statements_and_gets_the_same_answer(
    client,
    people,  # noqa: F811  the fixture imported above
    database_queue,
    url,
):
    client.post(url, submission(url, "warm-up@example.net"))  # the network's rate counter now exists
    seen = {}
    for state, email in people.items():
        with CaptureQueriesContext(connection) as queries:
            posted = client.post(url, submission(url, email))
        # Read before the next request: a request's start empties the connection's query log.
        ran = [statement(query["sql"]) for query in queries.captured_queries]
        followed = client.get(posted["Location"])
        body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", followed.content)
        seen[state] = (
            ran,
            posted.status_code,
            posted["Location"],
            posted.content,
            followed.status_code,
            body,
        )

    statements = seen["new"][0]
    # The network's counter, then the queue; the subscribe page also reads the site's default cadence.
    assert [(kind, tables) for kind, tables, _ in statements][-3:] == [
        ("UPDATE", ("core_ratecounter",)),
        ("SELECT", ("core_ratecounter",)),
        ("INSERT", ("django_tasks_database_dbtaskresult",)),
    ]
    touched = {table for _, tables, _ in statements for table in tables}
    assert not touched & {"subscriptions_subscriber", "subscriptions_suppression", "delivery_delivery"}
    for state, answer in seen.items():
        assert answer == seen["new"], state
    # Nothing was decided in the request.
    assert not Delivery.objects.exists()
    assert DBTaskResult.objects.count() == 6
    assert Subscriber.objects.count() == 4


# The worker, by state -----------------------------------------------------------------------------------


def answer(form_name, email, **fields):
    return address_requests.answer(form_name, {"email": [email], **{k: [v] for k, v in fields.items()}})


def test_subscribe_in_the_worker_by_state(people):  # noqa: F811
    outcome = {state: answer("subscribe", email, name="New name") for state, email in people.items()}

    assert outcome == {
        "new": "confirm",
        "pending": "confirm",
        "confirmed": "already",
        "gone": "confirm",
        "bounced": "",
    }
    assert Subscriber.objects.get(email="new@example.net").status == "pending"
    assert Subscriber.objects.get(email="gone@example.net").status == "pending"
    assert Subscriber.objects.get(email="confirmed@example.net").name == "Cam"  # theirs to change
    assert kinds("bounced@example.net") == []


def test_resend_and_leave_in_the_worker_by_state(people):  # noqa: F811
    resent = {state: answer("resend", email) for state, email in people.items()}
    left = {state: answer("leave", email) for state, email in people.items()}

    assert resent == {"new": "", "pending": "confirm", "confirmed": "", "gone": "", "bounced": ""}
    assert left == {"new": "", "pending": "", "confirmed": "link", "gone": "", "bounced": ""}
    assert not Subscriber.objects.filter(email="new@example.net").exists()


def test_the_worker_runs_the_same_form_as_the_page(people, topics):  # noqa: F811
    data = {"email": ["chooser@example.net"], "scope": ["chosen"], "topics": [str(topics["hazmat"].pk)]}
    data["cadence"] = ["weekly"]
    assert address_requests.answer("subscribe", data) == "confirm"
    reader = Subscriber.objects.get(email="chooser@example.net")
    assert (reader.everything, reader.cadence, [t.slug for t in reader.topics.all()]) == (
        False,
        "weekly",
        ["hazmat"],
    )

    # A topic deleted between the request and the worker: the submission is dropped, and logged.
    data["email"] = ["late@example.net"]
    topics["hazmat"].delete()
    assert address_requests.answer("subscribe", data) == ""
    assert not Subscriber.objects.filter(email="late@example.net").exists()


def test_a_suppression_added_after_the_request_still_stops_the_reply(people):  # noqa: F811
    Suppression.add("pending@example.net", Suppression.Reason.COMPLAINT)
    assert answer("resend", "pending@example.net") == ""
    assert kinds("pending@example.net") == []
