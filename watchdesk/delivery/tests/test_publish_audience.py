"""Before publishing, the post editor says how many subscribers the post will be e-mailed to: at once
and in digests, for the topics and regions on the form, and that a post e-mailed once is not sent again.
The counts come from delivery through the ``count_post_recipients`` hook (posts cannot import it)."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from watchdesk.delivery import broadcasts
from watchdesk.posts.audience import describe

pytestmark = pytest.mark.django_db
COUNT_URL = reverse("posts_recipient_count")


@pytest.fixture
def readers(subscriber, topics, regions):
    """Who hears about a wildfire in Los Angeles: 2 at once, 2 in digests; 3 others do not."""
    subscriber("all@example.net")  # everything, instantly
    subscriber("fires@example.net", topics=[topics["wildfire"]])
    subscriber("california@example.net", regions=[regions["california"]], cadence="daily")
    subscriber("weekly@example.net", cadence="weekly")
    subscriber("texas@example.net", regions=[regions["texas"]])
    subscriber("paused@example.net", paused=True)
    subscriber("pending@example.net", status="pending")


def test_the_count_follows_the_topics_and_regions_on_the_form(client, editor, readers, topics, regions):
    client.force_login(editor)

    def ask(**params):
        response = client.get(COUNT_URL, params)
        assert response.status_code == 200
        return response.json()

    fire_in_la = ask(topic=[topics["wildfire"].pk], region=[regions["los_angeles"].pk], ticked="1")
    assert (fire_in_la["instant"], fire_in_la["digest"]) == (2, 2)
    assert fire_in_la["text"] == (
        "Publishing e-mails this post to 2 subscribers at once and puts it in 2 readers' next digest."
    )
    assert ask(region=[regions["houston"].pk])["instant"] == 2  # everything + Texas
    nothing = ask(ticked="0")
    assert (nothing["instant"], nothing["digest"]) == (1, 1)
    assert nothing["text"].startswith("Nobody will be e-mailed. Ticked, this post would go to 1 subscriber")
    # Junk ids are ignored, never an error.
    assert ask(topic=["x", "-1"], region=["'; drop"])["instant"] == 1


def test_the_editor_shows_the_e_mail_choice_and_its_count_on_the_content_tab(
    client, editor, readers, make_post, topics, regions
):
    post = make_post("Draft fire", live=False, topics=[topics["wildfire"]], regions=[regions["los_angeles"]])
    client.force_login(editor)

    html = client.get(reverse("wagtailadmin_pages:edit", args=[post.pk])).content.decode()

    content_tab = html[html.index('id="tab-content"') : html.index('id="tab-source"')]
    assert 'name="notify_subscribers"' in content_tab
    assert "E-mail subscribers when published" in content_tab
    status = re.search(r'<p class="help" id="email-audience"[^>]*>([^<]*)</p>', content_tab)
    assert unescape(status.group(1)) == (
        "Publishing e-mails this post to 2 subscribers at once and puts it in 2 readers' next digest."
    )
    promotion_tab = html[html.index('id="tab-promotion"') :]
    assert 'name="notify_subscribers"' not in promotion_tab
    assert "/static/posts/js/email_choice.js" in html


def test_a_post_e_mailed_once_says_so(client, editor, readers, make_post, topics):
    post = make_post("Sent fire", topics=[topics["wildfire"]])
    client.force_login(editor)

    answer = client.get(COUNT_URL, {"post": post.pk, "topic": [topics["wildfire"].pk]}).json()

    assert answer["sent"] is True
    assert answer["text"].startswith("Already e-mailed on ")
    assert answer["text"].endswith("publishing again e-mails nobody.")


def test_the_count_is_for_signed_in_staff_only(client, readers):
    response = client.get(COUNT_URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_count_takes_a_fixed_number_of_queries(
    client, editor, readers, subscriber, topics, regions, django_assert_num_queries
):
    client.force_login(editor)
    params = {"topic": [topics["wildfire"].pk], "region": [regions["los_angeles"].pk, regions["mali"].pk]}
    client.get(COUNT_URL, params)
    for n in range(20):
        subscriber(f"more{n}@example.net", topics=[topics["wildfire"]])
    # Admin access (session, user, its permissions and profile: 5), the regions' paths, the counts.
    with django_assert_num_queries(7):
        answer = client.get(COUNT_URL, params).json()
    assert answer["instant"] == 22


def test_describe_without_a_counting_app_says_nothing():
    assert describe(None) == ""
    assert broadcasts.audience(None, [], []) == {"instant": 0, "breaking": 0, "digest": 0}


def test_only_people_who_may_edit_a_post_learn_whether_it_was_e_mailed(
    client, django_user_model, readers, make_post, topics
):
    post = make_post("Sent fire", topics=[topics["wildfire"]])
    # Admin access, but no page permissions at all.
    outsider = django_user_model.objects.create_user("olga", "olga@example.org", "correct horse 9")
    outsider.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(outsider)

    answer = client.get(COUNT_URL, {"post": post.pk, "topic": [topics["wildfire"].pk]}).json()

    assert answer["sent"] is False and answer["instant"] == 2
