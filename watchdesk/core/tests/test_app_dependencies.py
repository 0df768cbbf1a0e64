"""The apps depend one way (docs/architecture.md): each imports only the apps below it, a cross-app
reaction goes through a signal or hook connected in ``AppConfig.ready``, and no import hides inside a
function to dodge a cycle. Read from the source, function-local imports included, so the rule holds for
code paths no test happens to run. Tests exercise the whole project and may import any app."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]

# Each app and the apps it may import. ``demo`` loads content for all of them, so it sits on top.
ALLOWED = {
    "core": set(),
    "taxonomy": {"core"},
    "posts": {"core", "taxonomy"},
    "subscriptions": {"core", "taxonomy", "posts"},
    # delivery listens to the wire's story_alert signal (editor alert channels); the wire never imports it.
    "delivery": {"core", "taxonomy", "posts", "subscriptions", "wire"},
    "wire": {"core", "taxonomy", "posts"},
    "demo": {"core", "taxonomy", "posts", "subscriptions", "delivery", "wire"},
}
# Modules at the package root every app may use (configuration helpers).
SHARED = {"env"}


def application_files():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] in ALLOWED and "tests" not in parts and "migrations" not in parts:
            yield parts[0], path


def imported_modules(path):
    """``(module, line, inside_function, in_ready)`` for every ``watchdesk`` import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ["watchdesk", *path.relative_to(PACKAGE).parent.parts]
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = package[: len(package) - child.level + 1] if child.level else []
                module = ".".join([*base, child.module] if child.module else base)
                # ``from watchdesk import wire`` names the app in the alias, not the module.
                names = (
                    [f"{module}.{alias.name}" for alias in child.names] if module == "watchdesk" else [module]
                )
            else:
                visit(child, function)
                continue
            for name in names:
                if name.startswith("watchdesk."):
                    found.append((name, child.lineno, function is not None, function == "ready"))

    visit(tree, None)
    return found


def app_edges():
    """``{(from_app, to_app): ["file:line", ...]}`` over the application code."""
    edges = {}
    for app, path in application_files():
        for module, line, _, _ in imported_modules(path):
            target = module.split(".")[1]
            if target != app:
                edges.setdefault((app, target), []).append(f"{path.relative_to(PACKAGE)}:{line}")
    return edges


def find_cycle(edges):
    graph = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)

    def walk(node, trail):
        for following in sorted(graph.get(node, ())):
            if following in trail:
                return [*trail[trail.index(following) :], following]
            cycle = walk(following, [*trail, following])
            if cycle:
                return cycle
        return None

    for start in sorted(graph):
        cycle = walk(start, [start])
        if cycle:
            return cycle
    return None


def test_the_reader_sees_function_local_and_relative_imports(tmp_path):
    sample = PACKAGE / "posts" / "sample_for_test.py"
    source = (
        "from watchdesk.core import models\n"
        "from ..wire import topics\n"
        "def save():\n"
        "    from watchdesk.delivery.broadcasts import record_publication\n"
    )
    sample.write_text(source)
    try:
        found = imported_modules(sample)
    finally:
        sample.unlink()
    assert found == [
        ("watchdesk.core", 1, False, False),
        ("watchdesk.wire", 2, False, False),
        ("watchdesk.delivery.broadcasts", 4, True, False),
    ]


def test_a_cycle_is_found_and_named():
    assert find_cycle({("posts", "delivery"): [], ("delivery", "posts"): []}) == [
        "delivery",
        "posts",
        "delivery",
    ]
    assert find_cycle({("delivery", "posts"): [], ("posts", "taxonomy"): []}) is None


def test_no_cycle_between_apps():
    edges = app_edges()
    cycle = find_cycle(edges)
    assert cycle is None, " -> ".join(cycle) + "".join(
        f"\n  {a} -> {b}: {', '.join(edges[(a, b)])}" for a, b in zip(cycle, cycle[1:], strict=False)
    )


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_each_app_imports_only_the_apps_below_it(app):
    wrong = {
        (source, target): places
        for (source, target), places in app_edges().items()
        if source == app and target not in ALLOWED[app] | SHARED
    }
    assert not wrong, "\n".join(f"{s} -> {t}: {', '.join(places)}" for (s, t), places in wrong.items())


def test_no_import_of_another_app_hides_inside_a_function():
    """``AppConfig.ready`` is where Django wants app imports deferred to; nowhere else."""
    hidden = [
        f"{path.relative_to(PACKAGE)}:{line} {module}"
        for app, path in application_files()
        for module, line, inside, in_ready in imported_modules(path)
        if inside and not in_ready and module.split(".")[1] != app
    ]
    assert not hidden, "\n".join(hidden)


# Deferred to keep the worker's libraries (trafilatura, feedparser, datasketch) out of web processes,
# not to dodge a cycle: (file, module) pairs, each with its reason beside the import.
DEFERRED_FOR_WEIGHT = {
    ("wire/inbox_views.py", "watchdesk.wire.tasks"),
    ("wire/push_tasks.py", "watchdesk.wire.polling"),  # enqueued by the WebSub callback view
}


def test_no_import_of_our_own_code_hides_inside_a_function():
    """Within an app too: a function-local import dodges a module cycle; move the shared code instead."""
    hidden = [
        f"{path.relative_to(PACKAGE)}:{line} {module}"
        for _, path in application_files()
        for module, line, inside, in_ready in imported_modules(path)
        if inside
        and not (in_ready and path.name == "apps.py")
        and (str(path.relative_to(PACKAGE)), module) not in DEFERRED_FOR_WEIGHT
    ]
    assert not hidden, "\n".join(hidden)
