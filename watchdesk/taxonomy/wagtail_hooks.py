from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from watchdesk.taxonomy.forms import TopicForm
from watchdesk.taxonomy.models import Region, Topic
from watchdesk.taxonomy.views import TopicCreateView, TopicEditView


def _rule_lines(text):
    return sum(1 for line in (text or "").splitlines() if line.strip() and not line.lstrip().startswith("#"))


def rule_summary(topic):
    """ "12 phrases, 3 negative, 2 required; threshold 3" for the topic list (no query: fields only)."""
    phrases = _rule_lines(topic.rule_phrases)
    if not phrases:
        return "No rule"
    parts = [f"{phrases} phrase{'s' if phrases != 1 else ''}"]
    if negative := _rule_lines(topic.rule_negative):
        parts.append(f"{negative} negative")
    if required := _rule_lines(topic.rule_required):
        parts.append(f"{required} required")
    return f"{', '.join(parts)}; threshold {topic.rule_threshold:g}"


class TopicViewSet(SnippetViewSet):
    model = Topic
    icon = "tag"
    list_display = ["name", "slug", Column("rule", label="Wire rule", accessor=rule_summary)]
    search_fields = ["name", "description"]
    search_backend_name = None
    # The rule fields are validated (TopicForm) and can be previewed against recent items before saving.
    edit_handler = ObjectList(Topic.panels, base_form_class=TopicForm)
    add_view_class = TopicCreateView
    edit_view_class = TopicEditView
    create_template_name = "taxonomy/topic_create.html"
    edit_template_name = "taxonomy/topic_edit.html"


class RegionFilterSet(WagtailFilterSet):
    class Meta:
        model = Region
        fields = ["kind"]


class RegionViewSet(SnippetViewSet):
    model = Region
    icon = "site"
    list_display = ["name", "kind", "parent", "code"]
    list_per_page = 50
    search_fields = ["name", "code"]
    search_backend_name = None
    filterset_class = RegionFilterSet
    ordering = ["name"]


class TaxonomyGroup(SnippetViewSetGroup):
    items = (TopicViewSet, RegionViewSet)
    menu_icon = "folder-inverse"
    menu_label = "Topics & regions"
    menu_name = "taxonomy"
    menu_order = 250


register_snippet(TaxonomyGroup)
