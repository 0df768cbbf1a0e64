"""Subscribers over time, for the admin's overview: confirmed readers day by day and the geometry of the
small inline SVG charts that show them (no JavaScript, no external library)."""

from datetime import datetime, time, timedelta

from django.db.models import Count, F
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.functional import cached_property

from watchdesk.subscriptions.models import Subscriber


def growth(days=90, today=None):
    """Confirmed subscribers day by day over the last ``days`` days (today included): a list of
    {"day", "joined", "left", "total"}. A reader counts from the day they confirmed until the day they
    unsubscribed; the last total is the number confirmed now."""
    zone = timezone.get_current_timezone()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min), zone)
    counted = Subscriber.objects.exclude(status=Subscriber.Status.PENDING).filter(confirmed_at__isnull=False)
    total = counted.filter(confirmed_at__lt=start).exclude(unsubscribed_at__lt=start).count()

    def per_day(queryset, field):
        rows = queryset.filter(**{f"{field}__gte": start}).annotate(day=TruncDate(field, tzinfo=zone))
        return dict(rows.values_list("day").annotate(n=Count("pk")).values_list("day", "n"))

    joined = per_day(counted, "confirmed_at")
    left = per_day(counted.filter(unsubscribed_at__gte=F("confirmed_at")), "unsubscribed_at")
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        total += joined.get(day, 0) - left.get(day, 0)
        series.append({"day": day, "joined": joined.get(day, 0), "left": left.get(day, 0), "total": total})
    return series


def axis(value):
    """Round ticks from 0 to at least ``value``: at most five, 1, 2 or 5 times a power of ten apart;
    axis(335) == [0, 100, 200, 300, 400]."""
    step = 1
    while not any(step * factor * 4 >= value for factor in (1, 2, 5)):
        step *= 10
    step *= next(factor for factor in (1, 2, 5) if step * factor * 4 >= value)
    top = max(step, -(-value // step) * step)
    return list(range(0, top + 1, step))


class Chart:
    """The geometry of a small inline SVG chart over a day-by-day series: x positions shared by a line
    (with the area under it) and by bars, horizontal grid lines with round values, a date every two weeks.
    """

    width, height = 720, 200
    left, right, top, bottom = 52, 24, 10, 26

    def __init__(self, series, key):
        self.series = series
        self.key = key
        self.ticks = axis(max(point[key] for point in series))
        self.peak = self.ticks[-1]
        self.plot_width = self.width - self.left - self.right
        self.plot_height = self.height - self.top - self.bottom
        self.baseline = self.top + self.plot_height
        self.step = self.plot_width / len(series)
        self.end_x = self.width - self.right
        self.label_x = self.left - 6
        self.date_y = self.height - 8

    def x(self, index):
        return round(self.left + self.step * (index + 0.5), 1)

    def y(self, value):
        return round(self.baseline - value / self.peak * self.plot_height, 1)

    @cached_property
    def points(self):
        return [(self.x(i), self.y(point[self.key])) for i, point in enumerate(self.series)]

    @cached_property
    def line(self):
        return " ".join(f"{x},{y}" for x, y in self.points)

    @cached_property
    def area(self):
        return f"{self.points[0][0]},{self.baseline} {self.line} {self.points[-1][0]},{self.baseline}"

    @cached_property
    def bars(self):
        width = round(self.step * 0.7, 1)
        return [
            {
                "x": round(self.x(i) - width / 2, 1),
                "y": self.y(point[self.key]),
                "width": width,
                "height": round(self.baseline - self.y(point[self.key]), 1),
                "point": point,
            }
            for i, point in enumerate(self.series)
            if point[self.key]
        ]

    @cached_property
    def grid(self):
        return [{"y": self.y(tick), "label": f"{tick:,}"} for tick in self.ticks]

    @cached_property
    def dates(self):
        last = len(self.series) - 1
        return [
            {
                "x": self.x(i),
                "label": f"{point['day'].day} {point['day']:%b}",
                "anchor": "end" if i == last else "middle",
            }
            for i, point in enumerate(self.series)
            if (last - i) % 14 == 0
        ]
