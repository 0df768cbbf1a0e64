from django.core.management import call_command
from django_tasks import task


@task()
def publish_scheduled():
    """Publish pages whose go-live time has come and unpublish expired ones (Wagtail's command)."""
    call_command("publish_scheduled", verbosity=0)
