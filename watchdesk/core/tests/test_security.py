import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_public_pages_send_security_headers(client, home):
    response = client.get("/")

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_admin_is_left_to_wagtails_own_policy(client):
    response = client.get(reverse("wagtailadmin_login"))
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


@pytest.mark.django_db
def test_robots_txt_hides_admin_and_names_the_sitemap(client, settings):
    settings.SITE_URL = "https://news.example.org"
    body = client.get("/robots.txt").content.decode()
    assert "Disallow: /admin/" in body
    # On the public address, like the URLs inside the sitemap, whatever host the request used.
    assert "Sitemap: https://news.example.org/sitemap.xml" in body


@pytest.mark.django_db
def test_admin_login_locks_out_after_repeated_failures(client, editor, settings):
    url = reverse("wagtailadmin_login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"username": "erin", "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    response = client.post(url, {"username": "erin", "password": "wrong"})
    assert response.status_code == 429

    # Even the right password is refused while locked out.
    response = client.post(url, {"username": "erin", "password": "correct horse 1"})
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_successful_login_is_not_locked_out(client, editor):
    url = reverse("wagtailadmin_login")
    client.post(url, {"username": "erin", "password": "wrong"})
    response = client.post(url, {"username": "erin", "password": "correct horse 1"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(editor.pk)


def test_client_address_ignores_forwarded_headers_unless_behind_proxies(rf, settings):
    from axes.helpers import get_client_ip_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.AXES_IPWARE_PROXY_COUNT = 0
    assert get_client_ip_address(request) == "10.0.0.2"
    settings.AXES_IPWARE_PROXY_COUNT = 1
    assert get_client_ip_address(request) == "203.0.113.7"
    settings.AXES_IPWARE_PROXY_COUNT = 3  # fewer hops than proxies: the header is not trusted
    assert get_client_ip_address(request) == "10.0.0.2"


@pytest.mark.django_db
def test_admin_avatars_come_from_the_site_itself(client, editor):
    client.force_login(editor)
    html = client.get(reverse("wagtailadmin_home")).content.decode()

    # The account menu (sidebar props, as JSON) and the dashboard's greeting both show the avatar.
    avatars = re.findall(r'"avatarUrl": "([^"]+)"', html)
    avatars += re.findall(r'class="avatar[^"]*"[^>]*>\s*<img src="([^"]+)"', html)
    assert len(avatars) >= 2, avatars
    assert all(urlsplit(url).netloc == "" and url.startswith("/static/") for url in avatars), avatars
    assert "gravatar" not in html
