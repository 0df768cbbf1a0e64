from wagtail.admin.filters import WagtailFilterSet
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from watchdesk.taxonomy.models import Region, Topic


class TopicViewSet(SnippetViewSet):
    model = Topic
    icon = "tag"
    list_display = ["name", "slug"]
    search_fields = ["name", "description"]
    search_backend_name = None


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
