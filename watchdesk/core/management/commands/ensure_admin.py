import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the first administrator if there is none, and print how to sign in. The generated "
        "password is printed once; set WATCHDESK_ADMIN_PASSWORD to choose it instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.org")

    def handle(self, *args, username, email, **options):
        User = get_user_model()
        login_url = f"{settings.SITE_URL}/admin/"
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(f"Admin: {login_url} (an administrator already exists)")
            return
        password = settings.ADMIN_PASSWORD
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        self.stdout.write(self.style.SUCCESS(f"Admin: {login_url}"))
        self.stdout.write(f"  user name: {username}")
        if generated:
            self.stdout.write(f"  password:  {password}   (shown once; change it after signing in)")
        else:
            self.stdout.write("  password:  the value of WATCHDESK_ADMIN_PASSWORD")
