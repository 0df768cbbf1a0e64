"""The scorer's arithmetic, on plain dictionaries keyed by item id, so it can be checked by hand.

- Topics: every (item, topic) pair is a decision; precision, recall and F1 micro-averaged over all pairs,
  and per topic.
- Places: an item is right when the wire's places, reduced to their most specific, equal the expected
  places reduced the same way. Reducing drops every place that contains another place of the same set
  (Illinois beside Springfield), so the wire may add the containing places but not replace a place by
  its container, nor add or miss a place.
- Clusters: pairwise. Of the pairs of items the wire put in one cluster, the share that tell one story
  (precision); of the pairs that tell one story, the share put in one cluster (recall).
- Outlets: a story told by several items is right when its items are exactly one cluster and that
  cluster counts as many outlets as the story has distinct outlet names.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass
from itertools import combinations


@dataclass
class Ratio:
    """Counts and the three figures made from them. An empty denominator gives 1.0: nothing claimed is
    nothing wrong, and nothing expected is nothing missed."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self):
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self):
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


def topic_scores(expected, got, slugs):
    """``expected``/``got``: {item id: set of slugs}. Returns (micro Ratio, {slug: Ratio}, misses), a miss
    being (item id, missing slugs, extra slugs)."""
    micro, per_topic, misses = Ratio(), {slug: Ratio() for slug in slugs}, []
    for item_id, wanted in expected.items():
        found = set(got.get(item_id, ()))
        for slug in wanted & found:
            per_topic.setdefault(slug, Ratio()).tp += 1
        for slug in found - wanted:
            per_topic.setdefault(slug, Ratio()).fp += 1
        for slug in wanted - found:
            per_topic.setdefault(slug, Ratio()).fn += 1
        if wanted != found:
            misses.append((item_id, sorted(wanted - found), sorted(found - wanted)))
    for ratio in per_topic.values():
        micro.tp, micro.fp, micro.fn = micro.tp + ratio.tp, micro.fp + ratio.fp, micro.fn + ratio.fn
    return micro, per_topic, misses


def most_specific(codes, ancestors):
    """``codes`` without those that contain another of them; ``ancestors``: {code: set of codes above it}."""
    codes = set(codes)
    containers = set().union(*(ancestors.get(code, set()) for code in codes)) if codes else set()
    return frozenset(codes - containers)


def place_scores(expected, got, ancestors):
    """``expected``/``got``: {item id: set of region codes}. Returns (right, total, misses), a miss being
    (item id, expected most specific, got most specific)."""
    right, misses = 0, []
    for item_id, wanted in expected.items():
        wanted_set = most_specific(wanted, ancestors)
        found = most_specific(got.get(item_id, ()), ancestors)
        if wanted_set == found:
            right += 1
        else:
            misses.append((item_id, sorted(wanted_set), sorted(found)))
    return right, len(expected), misses


def _pairs(groups):
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def _groups(assignment):
    groups = defaultdict(set)
    for item_id, group in assignment.items():
        groups[group].add(item_id)
    return groups


def cluster_scores(stories, clusters):
    """``stories``/``clusters``: {item id: story id / cluster id}, the same items. Returns (Ratio over
    pairs, split stories, merged clusters): a split is (story, [sets of its items in each cluster]), a
    merge is (cluster, {story: its items in the cluster}) for a cluster holding several stories."""
    by_story, by_cluster = _groups(stories), _groups(clusters)
    told, grouped = _pairs(by_story), _pairs(by_cluster)
    ratio = Ratio(tp=len(told & grouped), fp=len(grouped - told), fn=len(told - grouped))
    splits = []
    for story, members in sorted(by_story.items()):
        parts = _groups({item_id: clusters[item_id] for item_id in members})
        if len(parts) > 1:
            splits.append(
                (story, sorted((sorted(part) for part in parts.values()), key=lambda part: part[0]))
            )
    merges = []
    for cluster, members in sorted(by_cluster.items(), key=lambda pair: sorted(pair[1])[0]):
        told_here = _groups({item_id: stories[item_id] for item_id in members})
        if len(told_here) > 1:
            merges.append((cluster, {story: sorted(part) for story, part in sorted(told_here.items())}))
    return ratio, splits, merges


def outlet_checks(stories, clusters, outlet_of, cluster_outlets):
    """For each story told by two or more items: right when its items are exactly one cluster whose
    ``cluster_outlets`` equals the story's distinct outlet names (``outlet_of``: item id -> name).
    Returns (right, checked, misses), a miss being (story, expected count, what the wire said)."""
    by_story, by_cluster = _groups(stories), _groups(clusters)
    right, checked, misses = 0, 0, []
    for story, members in sorted(by_story.items()):
        if len(members) < 2:
            continue
        checked += 1
        wanted = len({outlet_of[item_id] for item_id in members})
        cluster_ids = {clusters[item_id] for item_id in members}
        if len(cluster_ids) != 1 or by_cluster[next(iter(cluster_ids))] != members:
            misses.append((story, wanted, "not one cluster of its own"))
            continue
        found = cluster_outlets[next(iter(cluster_ids))]
        if found == wanted:
            right += 1
        else:
            misses.append((story, wanted, f"{found} outlets"))
    return right, checked, misses
