"""Editor alerts: which stories alert the desk and when, once each, who is e-mailed, and the signal."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from watchdesk.wire import alerts
from watchdesk.wire.ingest import ingest_feed
from watchdesk.wire.models import Cluster, DeskAlertPreference, StoryAlert, WireSettings
from watchdesk.wire.signals import story_alert
from watchdesk.wire.tests import inbox_fixtures
from watchdesk.wire.tests.test_relevance import FIRES, burst_feed

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """The story_alert signals sent, in order; alerts made inside ``sent.commit()`` announce on commit."""

    class Sent(list):
        def commit(self):
            return django_capture_on_commit_callbacks(execute=True)

    signals = Sent()

    def receiver(sender, alert, **kwargs):
        signals.append(alert)

    story_alert.connect(receiver, dispatch_uid="test_alerts")
    yield signals
    story_alert.disconnect(dispatch_uid="test_alerts")


@pytest.fixture
def threshold():
    def set_to(value):
        settings = WireSettings.load()
        settings.alert_score_threshold = value
        settings.save()

    return set_to


def on_duty(user, *, by_email=True):
    DeskAlertPreference.objects.update_or_create(user=user, defaults={"on_duty": True, "by_email": by_email})
    return user


def grow(cluster, outlets):
    Cluster.objects.filter(pk=cluster.pk).update(outlet_count=outlets)


def rows(cluster):
    return list(cluster.alerts.order_by("number").values_list("number", "reason", "outlets"))


# Which stories alert, and when ----------------------------------------------------------------------
def test_a_story_flagged_breaking_alerts_once(story):
    fire = story("Ridge Fire jumps Highway 70", outlets=3, score=9.5, breaking=True)
    quiet = story("Council approves budget", outlets=3, score=9.5)

    (alert,) = alerts.evaluate()
    assert alerts.evaluate() == []

    assert (alert.cluster_id, alert.reason, alert.outlets, alert.score) == (fire.pk, "breaking", 3, 9.5)
    assert rows(fire) == [(1, "breaking", 3)]
    assert rows(quiet) == []


def test_the_score_threshold_alerts_only_when_set(story, threshold):
    high = story("Chemical plant fire", score=14.0)
    story("School board meets", score=11.9)

    assert alerts.evaluate() == []  # blank threshold: off

    threshold(12.0)
    (alert,) = alerts.evaluate()
    assert (alert.cluster_id, alert.reason) == (high.pk, "score")
    assert alerts.evaluate() == []


def test_closed_stories_do_not_alert(story, threshold):
    threshold(1.0)
    story("Dismissed", breaking=True, status=Cluster.Status.DISMISSED)
    story("Drafted", score=20.0, status=Cluster.Status.DRAFTED)
    story(
        "Snoozed",
        breaking=True,
        status=Cluster.Status.SNOOZED,
        snoozed_until=timezone.now() + timedelta(hours=4),
    )

    assert alerts.evaluate() == []


def test_a_growing_story_does_not_alert_again_within_the_hour(story):
    fire = story(outlets=3, breaking=True)
    first = timezone.now()
    alerts.evaluate(now=first)

    grow(fire, 5)
    assert alerts.evaluate(now=first + timedelta(minutes=59)) == []
    assert rows(fire) == [(1, "breaking", 3)]


def test_a_story_whose_outlets_double_alerts_again_at_once(story):
    fire = story(outlets=3, breaking=True)
    first = timezone.now()
    alerts.evaluate(now=first)

    grow(fire, 6)
    (again,) = alerts.evaluate(now=first + timedelta(minutes=10))
    assert again.number == 2
    grow(fire, 11)  # not double 6
    assert alerts.evaluate(now=first + timedelta(minutes=20)) == []
    assert rows(fire) == [(1, "breaking", 3), (2, "breaking", 6)]


def test_after_an_hour_a_story_alerts_again_only_if_it_grew(story):
    fire = story(outlets=3, breaking=True)
    first = timezone.now()
    alerts.evaluate(now=first)

    assert alerts.evaluate(now=first + timedelta(hours=2)) == []  # still breaking, no new outlet
    grow(fire, 4)
    (again,) = alerts.evaluate(now=first + timedelta(hours=2))
    assert (again.number, again.outlets) == (2, 4)


def test_two_workers_evaluating_one_story_at_once_record_one_alert(story, sent):
    fire = story(breaking=True)
    # Both read before either writes, as two workers polling at the same moment do.
    first_worker, second_worker = alerts.due_alerts(), alerts.due_alerts()

    with sent.commit():
        recorded_first = alerts.record(first_worker)
        recorded_second = alerts.record(second_worker)

    assert len(recorded_first) == 1 and recorded_second == []
    assert rows(fire) == [(1, "breaking", 2)]
    assert [alert.pk for alert in sent] == [recorded_first[0].pk]


def test_a_race_on_one_story_does_not_drop_the_others(story, sent):
    first, second = story("First", breaking=True), story("Second", breaking=True)
    other_worker = [alert for alert in alerts.due_alerts() if alert.cluster_id == first.pk]
    alerts.record(other_worker)

    with sent.commit():
        # This worker read before the other recorded its alert: its batch conflicts on one story only.
        recorded = alerts.record(
            [StoryAlert(cluster=c, reason="breaking", outlets=2, score=10) for c in (first, second)]
        )

    assert [alert.cluster_id for alert in recorded] == [second.pk]
    assert [alert.cluster_id for alert in sent] == [second.pk]


# The signal -------------------------------------------------------------------------------------------
def test_the_signal_is_sent_once_per_alert_after_the_commit(
    story, sent, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://news.example.org"
    fire = story(outlets=4, breaking=True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        (alert,) = alerts.evaluate()
        assert sent == []  # not inside the transaction that records it
    assert len(callbacks) == 1
    assert sent == [alert]
    assert (sent[0].cluster, sent[0].reason, sent[0].outlets) == (fire, "breaking", 4)
    assert sent[0].url == f"https://news.example.org/admin/inbox/{fire.pk}/"

    with django_capture_on_commit_callbacks(execute=True):
        alerts.evaluate()
    assert len(sent) == 1


def test_no_signal_when_the_transaction_rolls_back(story, sent):
    story(breaking=True)

    with sent.commit():
        try:
            with transaction.atomic():
                alerts.evaluate()
                raise RuntimeError("ingest failed")
        except RuntimeError:
            pass

    assert sent == [] and not StoryAlert.objects.exists()


def test_a_failing_receiver_is_logged_and_the_others_still_hear(story, sent, caplog):
    def broken(**kwargs):
        raise ValueError("channel down")

    story_alert.connect(broken, dispatch_uid="test_broken")
    try:
        story(breaking=True)
        with caplog.at_level(logging.ERROR), sent.commit():
            alerts.evaluate()
    finally:
        story_alert.disconnect(dispatch_uid="test_broken")

    assert len(sent) == 1
    failures = [record for record in caplog.records if "story_alert receiver" in record.message]
    assert len(failures) == 1 and "broken" in failures[0].getMessage()


def test_receivers_that_succeed_log_no_error(story, sent, caplog):
    story(breaking=True)
    with caplog.at_level(logging.ERROR), sent.commit():
        alerts.evaluate()

    assert len(sent) == 1
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


# Queries ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [3, 30])
def test_evaluating_costs_the_same_queries_for_any_number_of_stories(story, count, django_assert_num_queries):
    for n in range(count):
        story(f"Story {n}", breaking=True, outlets=1)
    wire = WireSettings.load()  # the caller (flag_breaking) has them already

    # Two reads, then one INSERT in a savepoint for all the new alerts.
    with django_assert_num_queries(5):
        assert len(alerts.evaluate(settings=wire)) == count
    # Nothing new: the two reads.
    with django_assert_num_queries(2):
        assert alerts.evaluate(settings=wire) == []
    Cluster.objects.update(breaking=False)
    with django_assert_num_queries(1):
        assert alerts.evaluate(settings=wire) == []


# Where alerts are raised ------------------------------------------------------------------------------
@pytest.fixture
def wildfire_rule(topics):
    topics["wildfire"].rule_phrases = "fire = 3\nblaze = 3"
    topics["wildfire"].save()
    return topics["wildfire"]


def test_ingesting_a_burst_alerts_each_story_once(wildfire_rule, source, sent):
    outlet = source()
    with sent.commit():
        ingest_feed(outlet, burst_feed(FIRES[:6]), content_type="application/feed+json")
    with sent.commit():
        ingest_feed(
            outlet,
            burst_feed(FIRES[:6] + ["Second blaze reported near Paradise"]),
            content_type="application/feed+json",
        )

    breaking = set(Cluster.objects.filter(breaking=True).values_list("pk", flat=True))
    assert len(breaking) == 7
    assert sorted(alert.cluster_id for alert in sent) == sorted(breaking)
    assert StoryAlert.objects.count() == 7


# E-mail -----------------------------------------------------------------------------------------------
def test_editors_on_duty_by_email_get_one_email_per_alert(
    story, editor, moderator, outsider, django_user_model, mail_server, settings, sent
):
    settings.SITE_URL = "https://news.example.org"
    settings.DEFAULT_FROM_EMAIL = "desk@news.example.org"
    on_duty(editor)
    on_duty(moderator, by_email=False)  # on duty, but wants alerts in a channel only
    on_duty(outsider)  # not an editor: may not see the inbox
    off_duty = django_user_model.objects.create_user("otto", "otto@example.org", "correct horse 6")
    off_duty.groups.add(Group.objects.get(name="Editors"))
    DeskAlertPreference.objects.create(user=off_duty, on_duty=False, by_email=True)
    fire = story("Ridge Fire jumps Highway 70", outlets=3, score=9.5, breaking=True)

    with sent.commit():
        alerts.evaluate()

    (message,) = mail_server.messages
    assert message["To"] == "erin@example.org"
    assert message["From"] == "desk@news.example.org"
    assert message["Subject"] == "Breaking: Ridge Fire jumps Highway 70"
    link = f"https://news.example.org/admin/inbox/{fire.pk}/"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Ridge Fire jumps Highway 70" in text
    assert "Outlets: 3" in text and "Score: 9.5" in text
    assert "flagged it breaking" in text
    assert link in text and f'href="{link}"' in html


def test_a_growing_story_says_how_much_it_grew(story, editor, mail_server, sent, threshold):
    threshold(5.0)
    on_duty(editor)
    fire = story("Tanker spill closes I-5", outlets=2, score=9.0)
    first = timezone.now() - timedelta(hours=2)
    with sent.commit():
        alerts.evaluate(now=first)
    grow(fire, 3)
    with sent.commit():
        alerts.evaluate()

    first_mail, update = mail_server.messages
    assert first_mail["Subject"] == "Alert score 9.0: Tanker spill closes I-5"
    assert "reached the alert score" in first_mail.get_body(("plain",)).get_content()
    assert update["Subject"] == "Growing: Tanker spill closes I-5 (3 outlets)"
    assert "grown from 2 to 3 outlets" in update.get_body(("plain",)).get_content()


def test_nobody_on_duty_sends_nothing(story, editor, mail_server, sent):
    story(breaking=True)
    with sent.commit():
        alerts.evaluate()
    assert mail_server.messages == [] and len(sent) == 1


# The admin ---------------------------------------------------------------------------------------------
def test_the_inbox_shows_when_a_story_alerted(client, home, editor, story):
    client.force_login(editor)
    fire = story("Ridge Fire", breaking=True)
    quiet = story("Budget", score=1.0)
    at = timezone.now().replace(hour=10, minute=42)
    alerts.evaluate(now=at)

    html = client.get(reverse("inbox:index")).content.decode()

    def row(cluster):
        start = html.index(f'data-cluster="{cluster.pk}"')
        end = html.find("data-cluster=", start + 1)
        return html[start : end if end != -1 else None]

    assert "alerted 10:42" in row(fire)
    assert "data-alerted" not in row(quiet)


ACCOUNT = reverse("wagtailadmin_account")


def test_an_editor_goes_on_duty_in_their_account_settings(client, home, editor):
    client.force_login(editor)
    page = client.get(ACCOUNT).content.decode()
    assert "Editor alerts" in page and 'name="desk_alerts-on_duty"' in page

    response = client.post(
        ACCOUNT, {"desk_alerts-on_duty": "on", "desk_alerts-by_email": "on", **profile_fields(editor)}
    )

    assert response.status_code == 302
    preference = DeskAlertPreference.objects.get(user=editor)
    assert (preference.on_duty, preference.by_email) == (True, True)

    client.post(ACCOUNT, {"desk_alerts-by_email": "on", **profile_fields(editor)})
    preference.refresh_from_db()
    assert preference.on_duty is False


def test_people_who_cannot_see_the_inbox_have_no_alert_settings(client, home, outsider):
    outsider.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(outsider)
    page = client.get(ACCOUNT).content.decode()
    assert "desk_alerts-on_duty" not in page


def profile_fields(user):
    """What the account form's other panels need to validate."""
    return {
        "name_email-first_name": user.first_name or "Erin",
        "name_email-last_name": user.last_name or "Editor",
        "name_email-email": user.email,
        "locale-preferred_language": "en",
        "locale-current_time_zone": "",
        "theme-theme": "system",
        "theme-density": "default",
        "theme-contrast": "system",
        "theme-keyboard_shortcuts": "on",
    }
