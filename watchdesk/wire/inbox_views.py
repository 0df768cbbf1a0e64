"""The editors' inbox in the Wagtail admin (/admin/inbox/): stories from the wire by relevance, a
story's page with its items and why they were sorted as they were, the one-click draft, dismiss,
snooze, mark reviewed and reopen, correcting an item's places, and adding an article by URL.

Everything needs ``wire.change_cluster``. Actions are POSTs (a GET gets 405) and go back to the page
they came from. The web process never fetches: "Add from URL" only queues the fetch for the worker.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView, TemplateView, View
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import HeaderButton

from watchdesk.taxonomy import place_lookup
from watchdesk.wire import inbox, relevance
from watchdesk.wire.drafting import DraftError, draft_post
from watchdesk.wire.forms import AddFromURLForm, InboxFilterForm, PlaceCorrectionForm, SnoozeForm
from watchdesk.wire.models import Cluster, FetchLog, Item, ItemPlace

PAGE_SIZE = 30


class InboxPermission(PermissionCheckedMixin):
    model = Cluster
    permission_required = "change"


class InboxBreadcrumbs(WagtailAdminTemplateMixin):
    header_icon = "tasks"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": reverse("inbox:index"), "label": "Inbox"}, *self.trail()]

    def trail(self):
        return []


# The list -----------------------------------------------------------------------------------------
class InboxView(InboxPermission, InboxBreadcrumbs, TemplateView):
    template_name = "wire/admin/inbox.html"
    page_title = "Inbox"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": "Inbox"}]

    @cached_property
    def header_buttons(self):
        return [HeaderButton("Add from URL", url=reverse("inbox:add_url"), icon_name="plus")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        form = InboxFilterForm(self.request.GET or {"status": inbox.OPEN})
        form.is_valid()  # invalid filters are reported beside their field and left out
        clusters = inbox.inbox_clusters(**form.filters(now))
        paginator = Paginator(clusters, PAGE_SIZE)
        page = paginator.get_page(self.request.GET.get("p"))
        rows = inbox.load_details(page.object_list)
        context.update(
            form=form,
            place=form.place_lookup,
            place_links=self.place_links(form.place_lookup),
            clusters=rows,
            page_obj=page,
            items=page,  # for Wagtail's pagination_nav.html
            elided_page_range=paginator.get_elided_page_range(page.number),
            filtered=any(value for key, value in self.request.GET.items() if key not in {"p", "status"}),
            snooze_choices=inbox.SNOOZE_CHOICES,
            next_url=self.request.get_full_path(),
            now=now,
        )
        return context

    def place_links(self, found):
        """(name, this page filtered by that place) for each place the typed one could mean."""
        if found is None:
            return []
        links = []
        for region in found.choices or found.also:
            query = self.request.GET.copy()
            query["region"] = place_lookup.token(region)
            query.pop("p", None)
            links.append((place_lookup.full_name(region), f"?{query.urlencode()}"))
        return links


class PlacesJSONView(InboxPermission, View):
    """The place box's type-ahead: ``?q=But`` -> {"places": [{"value": "Butte, Montana", ...}]}; the
    value is what the box then holds, a name ``place_lookup`` reads back as that one place."""

    def get(self, request):
        places = [
            {"value": place_lookup.full_name(region), "slug": region.slug, "kind": region.get_kind_display()}
            # Places the wire has placed items in come first.
            for region in place_lookup.suggestions(
                request.GET.get("q", ""), in_the_news=ItemPlace.objects.values("region_id")
            )
        ]
        return JsonResponse({"places": places})


class ClusterView(InboxPermission, InboxBreadcrumbs, TemplateView):
    """One story: every item, the lead's summary, the topics with the phrases that matched, the places
    with confidence and origin, the score's parts, and a form per item to correct its places."""

    template_name = "wire/admin/cluster.html"

    @cached_property
    def cluster(self):
        found = Cluster.objects.filter(pk=self.kwargs["pk"]).first()
        if found is None:
            raise Http404("No such story in the inbox.")
        return inbox.load_details([found], with_text=True)[0]

    def get_page_title(self):
        return self.cluster.title

    def trail(self):
        return [{"url": "", "label": self.cluster.title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        forms = kwargs.get("place_forms", {})
        for item in self.cluster.item_list:
            item.place_form = forms.get(item.pk) or PlaceCorrectionForm(
                initial={"regions": [entry.region for entry in item.place_list]}, prefix=f"item-{item.pk}"
            )
        context.update(
            cluster=self.cluster,
            lead=self.cluster.lead_item,
            snooze_choices=inbox.SNOOZE_CHOICES,
            next_url=self.request.get_full_path(),
        )
        return context


# Actions ------------------------------------------------------------------------------------------
class ClusterAction(InboxPermission, View):
    """A POST that changes one cluster and goes back where it came from (``next``) or to the inbox."""

    http_method_names = ["post"]

    def post(self, request, pk):
        cluster = get_object_or_404(Cluster, pk=pk)
        return self.act(request, cluster) or self.go_back()

    def go_back(self):
        target = self.request.POST.get("next", "")
        allowed = {self.request.get_host()}
        if target and url_has_allowed_host_and_scheme(target, allowed, self.request.is_secure()):
            return redirect(target)
        return redirect("inbox:index")

    def act(self, request, cluster):
        raise NotImplementedError


class DraftView(ClusterAction):
    """Draft a post from the story: from the version chosen (``item``, one of its items) or else the
    default (``inbox.default_version``)."""

    def act(self, request, cluster):
        already = cluster.post_id
        chosen = request.POST.get("item", "")
        version = None
        if chosen:
            version = Item.objects.filter(pk=chosen, cluster=cluster).first() if chosen.isdigit() else None
            if version is None:
                messages.error(
                    request, f"That version is not one of the story “{cluster.title}”: nothing drafted."
                )
                return None
        try:
            post = draft_post(cluster, user=request.user, version=version)
        except DraftError as error:
            messages.error(request, str(error))
            return None
        except PermissionDenied as error:
            messages.error(request, str(error) or "You may not add posts.")
            return None
        if already and post.pk == already:
            messages.info(request, f"“{cluster.title}” was drafted already: here is its post.")
        else:
            messages.success(request, f"Drafted “{post.title}”: rewrite the body in your own words.")
        return redirect("wagtailadmin_pages:edit", post.pk)


class StatusView(ClusterAction):
    status = None
    done = ""

    def act(self, request, cluster):
        inbox.change_status(cluster, self.status, user=request.user)
        messages.success(request, f"{self.done}: “{cluster.title}”.")


class DismissView(StatusView):
    status = Cluster.Status.DISMISSED
    done = "Dismissed"


class ReviewView(StatusView):
    status = Cluster.Status.REVIEWED
    done = "Marked reviewed"


class SnoozeView(ClusterAction):
    def act(self, request, cluster):
        form = SnoozeForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose how long to snooze: 4 hours, 24 hours or 3 days.")
            return None
        hours = form.cleaned_data["hours"]
        inbox.change_status(
            cluster, Cluster.Status.SNOOZED, user=request.user, snooze_for=timedelta(hours=hours)
        )
        label = dict(inbox.SNOOZE_CHOICES)[str(hours)]
        messages.success(request, f"Snoozed for {label}: “{cluster.title}”.")


class ReopenView(ClusterAction):
    REOPENABLE = {Cluster.Status.DISMISSED, Cluster.Status.SNOOZED}

    def act(self, request, cluster):
        if cluster.status not in self.REOPENABLE:
            messages.warning(
                request, f"“{cluster.title}” is {cluster.get_status_display().lower()}, not closed."
            )
            return None
        inbox.change_status(cluster, Cluster.Status.NEW, user=request.user)
        messages.success(request, f"Back in the inbox: “{cluster.title}”.")


# Correcting places --------------------------------------------------------------------------------
class PlacesView(InboxPermission, View):
    """Replace an item's places with the editor's; the geotagger leaves them alone from then on."""

    http_method_names = ["post"]

    def post(self, request, pk):
        item = get_object_or_404(Item, pk=pk)
        form = PlaceCorrectionForm(request.POST, prefix=f"item-{item.pk}")
        if item.cluster_id is None:
            raise Http404("This item is in no story.")
        if not form.is_valid():
            messages.error(request, "The places were not changed: " + " ".join(form.errors["regions"]))
            # The story again, with the form as typed and its errors beside it.
            view = ClusterView()
            view.setup(request, pk=item.cluster_id)
            return view.render_to_response(view.get_context_data(place_forms={item.pk: form}), status=400)
        correct_places(item, form.cleaned_data["regions"])
        names = ", ".join(region.label for region in form.cleaned_data["regions"]) or "none"
        messages.success(request, f"Places of “{item.title}” set to {names}.")
        return redirect("inbox:cluster", item.cluster_id)


def correct_places(item, regions):
    with transaction.atomic():
        item.place_links.all().delete()
        ItemPlace.objects.bulk_create(
            ItemPlace(item=item, region=region, confidence=1.0, origin=ItemPlace.Origin.EDITOR)
            for region in regions
        )
        item.places_edited = True
        item.save(update_fields=["places_edited"])
        relevance.score([item])


# Add from URL -------------------------------------------------------------------------------------
class AddFromURLView(InboxPermission, InboxBreadcrumbs, FormView):
    template_name = "wire/admin/add_url.html"
    form_class = AddFromURLForm
    page_title = "Add an article from its URL"

    def trail(self):
        return [{"url": "", "label": "Add from URL"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The worker records an article it could not add as a fetch without a source.
        context["failures"] = (
            FetchLog.objects.filter(source__isnull=True, started_at__gte=timezone.now() - timedelta(days=2))
            .exclude(status="ok")
            .order_by("-started_at")[:10]
        )
        return context

    def form_valid(self, form):
        # Not at the top: the worker's task module loads trafilatura, feedparser and datasketch (about
        # 60 MB and most of a second), which a web process that only enqueues should not carry.
        from watchdesk.wire.tasks import add_article

        url, user_id = form.cleaned_data["url"], self.request.user.pk
        transaction.on_commit(lambda: add_article.enqueue(url, user_id))
        messages.success(self.request, f"Fetching {url}; it will appear in the inbox in a moment.")
        return redirect("inbox:index")
