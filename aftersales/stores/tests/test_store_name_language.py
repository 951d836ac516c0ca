"""A store named in both languages ("广州天河店 / Guangzhou Tianhe") reads in the reader's language on staff pages."""
from django.utils import translation

from aftersales.stores.models import DealerGroup, Store


def test_a_bilingual_store_name_shows_the_readers_half():
    store = Store(group=DealerGroup(name="G"), code="a", name="广州天河店 / Guangzhou Tianhe")
    with translation.override("zh-hans"):
        assert str(store) == "广州天河店"
    with translation.override("en"):
        assert str(store) == "Guangzhou Tianhe"
    store.name = "广州天河店"
    with translation.override("en"):
        assert str(store) == "广州天河店"  # one language only: as typed
